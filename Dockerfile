# Playground: one image for the web servers (the default command), the RQ workers
# (`flask --app webapp worker`) and the migration job (`alembic upgrade head`).
#
# Two stages: the builder has a compiler and headers in case a wheel must be built, and
# installs the requirements into a virtualenv; the final image copies only that virtualenv
# and the app onto a slim Python, runs as an unprivileged user and checks /health.

FROM python:3.11-slim AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential libpq-dev \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt


FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MPLBACKEND=Agg \
    MPLCONFIGDIR=/tmp/matplotlib \
    INSTANCE_PATH=/app/instance \
    PORT=8000
RUN useradd --create-home --uid 10001 --user-group playground
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
# Only what runs: the app, its templates and static files, the migrations, the server's
# configuration and the sample data (the demo seeds from it). No tests, no benchmarks.
COPY --chown=root:root alembic.ini gunicorn.conf.py ./
COPY --chown=root:root webapp ./webapp
COPY --chown=root:root mlcore ./mlcore
COPY --chown=root:root migrations ./migrations
COPY --chown=root:root templates ./templates
COPY --chown=root:root static ./static
COPY --chown=root:root data ./data
RUN mkdir -p /app/instance && chown playground:playground /app/instance
USER playground

EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'), timeout=4).status != 200)"]

# The web server. Migrations are not run here: a one-shot job (compose's `migrate`
# service, the Kubernetes Job) runs `alembic upgrade head` once per release.
CMD ["gunicorn", "-c", "gunicorn.conf.py"]
