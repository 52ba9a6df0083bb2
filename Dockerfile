# syntax=docker/dockerfile:1
# The controller image: python -m issuer as non-root 65532, no build tools.
# Built and run by `make image` / `make image-test` (hack/image.sh); the chart's
# Deployment runs it with a read-only root filesystem, so bytecode is compiled
# at build time. The package is installed from its wheel with the dependency
# versions locked in constraints.txt, the ones the tests ran with.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a virtualenv with the package's wheel and its locked dependencies --
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# A pip configuration and CA bundle may be passed as build secrets (hack/image.sh
# generates them from the host's at build time); they are mounted for a step
# only and never stored in a layer. Bytecode is compiled ahead of time: the
# root filesystem is read-only at run time.
# 1. The dependencies, at the locked versions: this layer changes only with
#    constraints.txt or pyproject.toml, not with every change of the code.
COPY constraints.txt pyproject.toml ./
RUN --mount=type=secret,id=pip.conf,target=/run/secrets/pip.conf \
    --mount=type=secret,id=ca.crt,target=/run/secrets/ca.crt \
    export PIP_CONFIG_FILE=/run/secrets/pip.conf \
    && python -m venv /opt/venv \
    && python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep=chr(10))" > /tmp/requirements.txt \
    && /opt/venv/bin/pip install --no-compile --constraint constraints.txt --requirement /tmp/requirements.txt \
    && /opt/venv/bin/python -m compileall -q /opt/venv/lib
# 2. The package from its wheel (the AWS emulator and the dev stack are packages
#    of their own, never in it); then pip and setuptools are dropped.
COPY README.md ./
COPY issuer ./issuer
RUN --mount=type=secret,id=pip.conf,target=/run/secrets/pip.conf \
    --mount=type=secret,id=ca.crt,target=/run/secrets/ca.crt \
    export PIP_CONFIG_FILE=/run/secrets/pip.conf \
    && /opt/venv/bin/pip wheel --no-deps --constraint constraints.txt --wheel-dir /wheels /src \
    && /opt/venv/bin/pip install --no-compile --constraint constraints.txt /wheels/awspca_issuer-*.whl \
    && /opt/venv/bin/python -m compileall -q /opt/venv/lib \
    && /opt/venv/bin/pip uninstall --yes pip setuptools

# --- runtime: the interpreter and the virtualenv, nothing else ---------------
FROM ${PYTHON_IMAGE}
# The base image's pip and setuptools are not needed at run time.
RUN python -m pip uninstall --yes pip setuptools wheel \
    && groupadd --gid 65532 nonroot \
    && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin nonroot
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["python", "-m", "issuer"]
# Last, so a new revision only changes this layer.
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="awspca-issuer" \
      org.opencontainers.image.description="cert-manager external issuer for AWS Private CA (drop-in for aws-privateca-issuer)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/cert-manager/aws-privateca-issuer"
