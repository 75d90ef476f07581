# The same install steps as `make install`: torch first, pinned, then the project.
# CPU by default; for CUDA: docker build --build-arg BASE=nvidia/cuda:12.4.1-runtime-ubuntu22.04 \
#   --build-arg TORCH_PIP_ARGS="--index-url <an index with CUDA builds of torch>" .
ARG BASE=python:3.11-slim
FROM ${BASE}
ARG TORCH_SPEC=torch==2.13.0
ARG TORCH_PIP_ARGS=
RUN (command -v python3 && python3 -m venv --help >/dev/null) || \
    (apt-get update && apt-get install -y --no-install-recommends python3 python3-venv make && rm -rf /var/lib/apt/lists/*)
RUN command -v make || (apt-get update && apt-get install -y --no-install-recommends make && rm -rf /var/lib/apt/lists/*)
WORKDIR /srv/headscope
COPY pyproject.toml README.md Makefile ./
COPY app ./app
COPY templates ./templates
COPY static ./static
COPY models/README.md ./models/README.md
RUN make install TORCH_SPEC="${TORCH_SPEC}" TORCH_PIP_ARGS="${TORCH_PIP_ARGS}"
# WordNet for the robustness tests' antonyms and synonyms (Debian's wordnet-base, read offline).
RUN make wordnet && rm -rf /var/lib/apt/lists/*
# Train the embedded demo checkpoints at build time so the container starts in seconds.
RUN make prepare
ENV HEADSCOPE_HOST=0.0.0.0 HEADSCOPE_PORT=8000
EXPOSE 8000
CMD [".venv/bin/headscope", "serve", "--no-prepare"]
