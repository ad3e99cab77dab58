# LinkDo API image. Migrations are a separate command (compose: the "migrate" service; Kubernetes:
# an init container), so replicas never race to migrate.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_DEBUG=false \
    PORT=8000

WORKDIR /app
RUN useradd --create-home --uid 10001 linkdo

# Dependencies first, from pyproject.toml alone: this layer is rebuilt only when they change.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

COPY . .
RUN mkdir -p /app/metrics \
    && pip install --no-deps . \
    && DJANGO_DEBUG=false SECRET_KEY=collectstatic-only DATABASE_URL=postgres://unused/unused \
       python manage.py collectstatic --noinput \
    && chown -R linkdo:linkdo /app

USER linkdo
EXPOSE 8000 8001
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"
# linkdo.web checks the variables gunicorn reads itself, then becomes gunicorn (exec). The same
# image runs the stream process: python -m workspaces.events --port 8001 (compose, k8s events.yaml).
CMD ["python", "-m", "linkdo.web"]
