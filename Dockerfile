# denex node image. Keys are mounted at run time (DENEX_DATA_DIR=/data), never baked in.
FROM python:3.11-slim AS build
WORKDIR /src
# The same install as the README's "without make" section and `make run`: the exact versions
# of the lock files, hashes checked, then the project itself with nothing more.
COPY requirements/build.txt requirements/runtime.txt ./requirements/
RUN python -m venv /opt/denex \
 && /opt/denex/bin/pip install --no-cache-dir --require-hashes -r requirements/build.txt -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY keys ./keys
COPY federation ./federation
COPY workers ./workers
COPY service ./service
COPY migrations ./migrations
RUN /opt/denex/bin/pip install --no-cache-dir --no-deps --no-build-isolation .

FROM python:3.11-slim
RUN useradd --system --create-home --uid 10001 denex && mkdir -m 0700 /data && chown denex /data
COPY --from=build /opt/denex /opt/denex
ENV PATH=/opt/denex/bin:$PATH \
    DENEX_DATA_DIR=/data \
    DENEX_LOG_FORMAT=json \
    PYTHONDONTWRITEBYTECODE=1
USER denex
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"
ENTRYPOINT ["denex"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
