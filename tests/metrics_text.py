"""Reading a node's `/metrics` answer in tests: the Prometheus text parsed by
prometheus_client's own parser into samples, looked up by name and labels."""

from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True)
class Scrape:
    text: str

    @property
    def samples(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        return {
            (s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(self.text)
            for s in family.samples
        }

    @property
    def names(self) -> set[str]:
        """Every sample name (a histogram's `_bucket`, `_count` and `_sum` included)."""
        return {name for name, _labels in self.samples}

    def value(self, name: str, **labels: str) -> float | None:
        """The sample `name` with exactly `labels`, or None if there is none."""
        return self.samples.get((name, frozenset(labels.items())))

    def labelled(self, name: str, label: str) -> dict[str, float]:
        """label value -> sample value, for every sample `name` carrying `label`."""
        return {
            dict(labels)[label]: value
            for (sample, labels), value in self.samples.items()
            if sample == name and label in dict(labels)
        }
