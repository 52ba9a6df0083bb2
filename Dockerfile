# syntax=docker/dockerfile:1
# The controller image: python -m issuer as non-root 65532, no build tools.
# Not built by the tests (no container engine here); the runtime steps below
# are the ones the tests run: the package installed from pyproject.toml into a
# virtualenv, started as `python -m issuer` with unbuffered output.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a virtualenv with the package and its dependencies ---------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml README.md ./
COPY issuer ./issuer
# Install the package (not editable), compile bytecode ahead of time (the root
# filesystem is read-only at run time), then drop pip and setuptools. The AWS
# emulator and the dev stack are packages of their own, never in this wheel.
RUN /opt/venv/bin/pip install --no-compile /src \
    && /opt/venv/bin/python -m compileall -q /opt/venv/lib \
    && /opt/venv/bin/pip uninstall --yes pip setuptools

# --- runtime: the interpreter and the virtualenv, nothing else ---------------
FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="awspca-issuer" \
      org.opencontainers.image.description="cert-manager external issuer for AWS Private CA (drop-in for aws-privateca-issuer)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/cert-manager/aws-privateca-issuer"
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
