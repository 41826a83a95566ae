"""The demo's nine steps, each printed as it runs: the commands an operator runs and the
requests an officer makes, at three nodes."""

import json
import re
import shlex
import subprocess
from datetime import date

import httpx

from keys.card import verify_card
from service import harness
from service.demo import consultations
from service.demo.nodes import HOST, Command, DemoFailed, Nodes, _last_line, show
from service.demo.script import (
    CASES,
    DEMO_ENV,
    FEDERATION,
    REGIMES,
    SYNC_INTERVAL,
    overdue_notice,
    synthetic_notice,
)


def card_node(text: str) -> str:
    """The node id a card names (the auditor checks the card itself when verifying)."""
    return str(verify_card(text.encode()).body["node_id"])


class Demo(Nodes):
    # -- the nine steps

    def run(self) -> None:
        show(f"denex demo: three nodes in {self.root}")
        show(
            "every command below runs there, with "
            + " ".join(f"{k}={v}" for k, v in DEMO_ENV.items())
        )
        self.init_nodes()
        self.exchange_cards()
        self.start_servers()
        self.publish()
        self.sync()
        self.verify()
        self.screen()
        self.audit()
        self.explore()

    def init_nodes(self) -> None:
        self.step(1, "Initialise three nodes: keys, a SQLite database and entry 0 of each log")
        results = self.run_each(
            [
                Command(m, ["init", "--data-dir", m.data_dir, "--node-id", m.node_id,
                            "--country", m.authority.country, "--name", m.authority.name,
                            "--url", m.url, "--federation", FEDERATION, "--regimes", REGIMES])
                for m in self.members
            ]
        )  # fmt: skip
        for member, result in zip(self.members, results, strict=True):
            member.tokens["admin"] = _last_line(result.stdout)
        results = self.run_each(
            [
                Command(m, ["token", "create", "--role", "officer", "--name", "demo-officer",
                            "--data-dir", m.data_dir])
                for m in self.members
            ]
        )  # fmt: skip
        for member, result in zip(self.members, results, strict=True):
            member.tokens["officer"] = _last_line(result.stdout)
        show("  each node printed its first admin token; each admin made an officer token")

    def exchange_cards(self) -> None:
        self.step(2, "Exchange node cards: each admin adds the other two nodes as peers")
        self.run_each(
            [
                Command(m, ["node", "card", "--data-dir", m.data_dir], f"{m.node_id}.card.json")
                for m in self.members
            ]
        )
        for member in self.members:
            card = verify_card((self.root / f"{member.node_id}.card.json").read_bytes().strip())
            show(f"  {member.node_id} root key fingerprint: {card.fingerprint}")
        show("  (partners compare fingerprints out of band, then add the card)")
        for shift in (1, 2):
            self.run_each(
                [
                    Command(m, ["peer", "add", f"{self.after(i, shift).node_id}.card.json",
                                "--yes", "--data-dir", m.data_dir])
                    for i, m in enumerate(self.members)
                ]
            )  # fmt: skip
        show("  every node now has the other two in its roster")

    def start_servers(self) -> None:
        self.step(3, f"Start the three servers (each syncs with its peers every {SYNC_INTERVAL} s)")
        for member in self.members:
            port = str(member.port)
            args = ["serve", "--data-dir", member.data_dir, "--host", HOST, "--port", port]
            show(f"  $ denex {shlex.join(args)} > {member.node_id}/serve.log 2>&1 &")
            with (self.root / member.node_id / "serve.log").open("wb") as log:
                member.process = harness.start_serve(
                    port=member.port,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    data_dir=member.data_dir,
                    cwd=self.root,
                    new_session=True,
                )
        for member in self.members:
            self.wait_healthy(member)
            pid = member.process.pid if member.process else 0
            show(f"  {member.node_id} serving on {member.url} (pid {pid})")

    def publish(self) -> None:
        self.step(4, "Each officer publishes invented denials of surveillance technology")
        show("  POST /api/v1/notices with the officer's token (Authorization: Bearer dnx_...)")
        today = date.today()
        with httpx.Client(timeout=30.0) as client:
            for index, member in enumerate(self.members):
                for number in range(self.notices):
                    body = synthetic_notice(index, number, today)
                    response = client.post(
                        f"{member.url}/api/v1/notices", json=body, headers=self.auth(member)
                    )
                    if response.status_code != 201:
                        raise DemoFailed(
                            f"{member.node_id} refused {body['reference']}: "
                            f"HTTP {response.status_code} {response.text[:300]}"
                        )
                    seq = response.json()["versions"][-1]["seq"]
                    self.first_notice.setdefault(member.node_id, response.json()["notice_id"])
                    item, party = body["items"][0], body["parties"][0]
                    show(
                        f"  {member.node_id} seq {seq}: {body['reference']} "
                        f"{body['decision']}, {item['control_entry']} {item['description']}, "
                        f"to {party['name']}, {body['destination']}"
                    )
                self.published[member.node_id] = self.notices
        third = self.members[2]
        body = overdue_notice(today)
        with httpx.Client(timeout=30.0) as client:
            response = client.post(
                f"{third.url}/api/v1/notices", json=body, headers=self.auth(third)
            )
        if response.status_code != 201:
            raise DemoFailed(f"{third.node_id} refused {body['reference']}: {response.text[:300]}")
        self.overdue = response.json()["notice_id"]
        self.published[third.node_id] += 1
        show(
            f"  {third.node_id}: {body['reference']}, an EU denial of {body['decided_on']} whose "
            f"review date {body['valid_until']} has passed unrevoked: still in force"
        )

    def sync(self) -> None:
        self.step(5, "Sync: every node pulls, verifies and stores its peers' logs")
        show(
            "  the serve loops pull every few seconds and at once when a peer hints news; "
            "waiting until all nodes hold the same copy of every log"
        )
        sizes = self.wait_converged()
        for member in self.members:
            held = ", ".join(f"{o} {sizes[member.node_id][o]}" for o in self.node_ids)
            show(f"  {member.node_id} holds: {held} entries")
        show("  one round by hand at every node, as an operator runs it (sync is idempotent):")
        results = self.run_each(
            [Command(m, ["sync", "--data-dir", m.data_dir]) for m in self.members], check=False
        )
        for member, result in zip(self.members, results, strict=True):
            for line in result.stderr.splitlines():
                if line.strip() and not line.endswith(" ok"):  # the summary, and any problem
                    show(f"    at {member.node_id}: {line}")
            if result.returncode != 0:
                show(f"    ({member.node_id}: see above; step 6 checks what every node stored)")

    def verify(self) -> None:
        self.step(6, "Verify: every node re-verifies its copy of the other two logs")
        for shift in (1, 2):
            commands = [
                Command(m, ["verify-log", "--origin", self.after(i, shift).node_id,
                            "--data-dir", m.data_dir])
                for i, m in enumerate(self.members)
            ]  # fmt: skip
            results = self.run_each(commands, check=False, echo=shift == 1)
            for command, result in zip(commands, results, strict=True):
                origin, node = command.args[2], command.member.node_id
                if result.returncode != 0 or "VERIFIED" not in result.stdout:
                    raise DemoFailed(
                        f"{node} could not verify its copy of {origin}: "
                        f"{_last_line(result.stdout + result.stderr)}"
                    )
                found = re.search(r"^log of \S+: (\d+) entries", result.stdout, re.MULTILINE)
                entries = found.group(1) if found else "?"
                show(
                    f"  {node} verified the log of {origin}: {entries} entries, every signature, "
                    "seq, leaf hash, the tree root and the signed checkpoint"
                )
        show("  notices each node shows through its API (GET /api/v1/notices?origin=...):")
        show("    " + "at \\ origin".ljust(14) + "".join(o.ljust(10) for o in self.node_ids))
        with httpx.Client(timeout=30.0) as client:
            for member in self.members:
                counts = [self.count(client, member, origin) for origin in self.node_ids]
                show("    " + member.node_id.ljust(14) + "".join(str(c).ljust(10) for c in counts))
                for origin, count in zip(self.node_ids, counts, strict=True):
                    if count != self.published[origin]:
                        raise DemoFailed(
                            f"{member.node_id} shows {count} notices of {origin}, "
                            f"not the {self.published[origin]} published"
                        )
        show("  the same notices are visible and verified at every node")

    def screen(self) -> None:
        first, second = self.members[0], self.members[1]
        self.step(
            7,
            f"Screen: an officer at {first.node_id} checks a licence application against "
            "every partner's denials (the no-undercut rule)",
        )
        case = CASES[2 % len(CASES)]  # the first denial of the second node
        words = case.end_user.removesuffix(" (fictional)").split()
        name = " ".join([*words[:-1], "Ltd", "(fictional)"]).upper()  # legal form, case changed
        application = {
            "reference": "DEMO-APPLICATION-1",
            "destination": case.destination,
            "items": [{"control_entry": case.control_entry, "description": case.item}],
            "parties": [{"role": "end_user", "name": name}],
        }
        show(f"  application: {name!r} in {case.destination}, {case.control_entry}")
        with httpx.Client(timeout=30.0) as client:
            answer = client.post(
                f"{first.url}/api/v1/screenings", json=application, headers=self.auth(first)
            )
        if answer.status_code != 201:
            raise DemoFailed(f"screening at {first.node_id} failed: {answer.text[:300]}")
        matches = answer.json()["matches"]
        for match in matches[:3]:
            party = (match["features"].get("parties") or [{}])[0]
            show(
                f"  {match['verdict']:8} {match['score']:.2f}  {match['origin']} notice "
                f"{match['notice_id'][:8]}...: {party.get('notice_name', '?')!r} "
                f"({party.get('via', '?')} {party.get('similarity', 0):.2f}), "
                f"item {match['features']['items'].get('relation')}, destination "
                f"{'same' if match['features']['destination']['match'] else 'different'}"
            )
        found = [m for m in matches if m["origin"] == second.node_id and m["verdict"] == "consult"]
        if not found:
            raise DemoFailed(f"the screening did not find {second.node_id}'s denial")
        consultations.approve_after_consulting(
            self, answer.json()["screening_id"], found[0]["notice_id"]
        )
        consultations.screen_overdue(self, CASES[5])

    def audit(self) -> None:
        first, second, third = self.members
        self.step(
            8,
            f"Audit: an auditor at {second.node_id} proves {first.node_id}'s denial offline, "
            f"against {first.node_id}'s card and {third.node_id}'s cosignature",
        )
        notice = f"{first.node_id}/{self.first_notice[first.node_id]}"
        get = Command(second, ["evidence", notice, "-o", "bundle.json", "--data-dir",
                               second.data_dir])  # fmt: skip
        for attempt in range(10):  # until a round has kept the third node's cosignature
            self.run_each([get], echo=attempt == 0)
            bundle = json.loads((self.root / "bundle.json").read_bytes())
            if any(third.node_id in card_node(c) for c in bundle["witness_cards"]):
                break
            self.run_each([Command(second, ["sync", "--data-dir", second.data_dir])], echo=False)
        else:
            raise DemoFailed(f"{second.node_id} holds no cosignature by {third.node_id}")
        args = ["verify", "bundle.json", "--trust", f"{first.node_id}.card.json",
                "--witness", f"{third.node_id}.card.json"]  # fmt: skip
        [result] = self.run_each([Command(second, args)], check=False)
        for line in result.stdout.splitlines():
            show(f"    {line}")
        if result.returncode != 0:
            raise DemoFailed(f"the bundle did not verify: {_last_line(result.stdout)}")

    def explore(self) -> None:
        self.step(9, "Explore")
        for member in self.members:
            show(f"  {member.node_id}  {member.authority.name}")
            show(f"    {member.url}   API docs: {member.url}/docs")
            show(f"    officer token: {member.tokens['officer']}")
            show(f"    admin token:   {member.tokens['admin']}")
        first, second = self.members[0], self.members[1]
        show("  try:")
        show(
            f"    curl -H 'Authorization: Bearer {first.tokens['officer']}' "
            f"'{first.url}/api/v1/notices?origin={second.node_id}'"
        )
        env = " ".join(f"{k}={v}" for k, v in DEMO_ENV.items())
        show(
            f"    cd {shlex.quote(str(self.root))} && {env} denex peer list --data-dir {first.data_dir}"
        )
        show("  publish at one node and watch the notice reach the others within seconds")
