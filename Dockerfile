FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY tracking ./tracking
COPY migrations ./migrations
RUN pip install --no-cache-dir . && tracking-server ui install && useradd --create-home tracking && mkdir /data && chown tracking /data
USER tracking
WORKDIR /data
ENV MLFLOW_HOST=0.0.0.0 \
    MLFLOW_PORT=5000 \
    MLFLOW_BACKEND_STORE_URI=sqlite:////data/mlruns.db \
    MLFLOW_ARTIFACTS_DESTINATION=/data/mlartifacts
EXPOSE 5000
CMD ["tracking-server", "serve"]
