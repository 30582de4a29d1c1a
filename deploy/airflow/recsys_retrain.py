"""RecSysSoA retraining as an Airflow DAG, for teams that run their data work in Airflow.

Runs in the cluster of deploy/k8s as container tasks (KubernetesPodOperator) with the trainer
image, the Secret recsys-secrets (key pg-dsn) and the models volume (PVC recsys-models):

  check_events   enough new events since the active version? (psql; fails -> no training)
  snapshot       the events of this run into the run folder, the dataset of record (psql \\copy)
  pipeline       rs-train pipeline: its own snapshot -> per-user temporal split -> tune/fit ->
                 evaluate every model against pop -> publish the best as version
                 {{ ds_nodash }}.af into the models volume and activate it; a failed run
                 publishes nothing and leaves the active version alone
  verify         the new version is the active one and its manifest is in the volume

Split, fit and evaluate run inside the one pipeline task: rs-train has no command line for the
event-log snapshot and split that the pipeline uses (weights, explicit negatives), and running
the benchmark commands (split/fit/evaluate on plain CSVs) would train a different model than the
CronJob does. Schedule: daily at 02:30 UTC, like the CronJob deploy/k8s/base/retrain.yaml; run
one of the two (suspend the CronJob: kubectl patch cronjob retrain -p '{"spec":{"suspend":true}}').
Retries: 2, 10 minutes apart; one run at a time. docs/DEPLOY.md "Retraining".

deploy/airflow/test_dag.py checks this file's structure without importing Airflow.
"""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

NAMESPACE = "recsys"
IMAGE = "registry.example.com/recsys/trainer:0.1.0"
MODELS = "/var/lib/recsys/models"
RUN = MODELS + "/runs/{{ ds_nodash }}"
VERSION = "{{ ds_nodash }}.af"
MIN_NEW_EVENTS = "1000"

PG_DSN = k8s.V1EnvVar(
    name="RS_PG_DSN",
    value_from=k8s.V1EnvVarSource(
        secret_key_ref=k8s.V1SecretKeySelector(name="recsys-secrets", key="pg-dsn")
    ),
)
MODELS_VOLUME = k8s.V1Volume(
    name="models",
    persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(claim_name="recsys-models"),
)
MODELS_MOUNT = k8s.V1VolumeMount(name="models", mount_path=MODELS)
TRAIN_RESOURCES = k8s.V1ResourceRequirements(
    requests={"cpu": "2", "memory": "2Gi"}, limits={"cpu": "4", "memory": "8Gi"}
)

default_args = {
    "owner": "recsys",
    "retries": 2,
    "retry_delay": timedelta(minutes=10),
    "execution_timeout": timedelta(hours=4),
}

with DAG(
    dag_id="recsys_retrain",
    description="Retrain and publish the recommender's models from the event store",
    schedule="30 2 * * *",
    start_date=datetime(2026, 12, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["recsys"],
) as dag:
    check_events = KubernetesPodOperator(
        task_id="check_events",
        name="recsys-check-events",
        namespace=NAMESPACE,
        image=IMAGE,
        cmds=["bash", "-c"],
        arguments=[
            'n="$(psql "$RS_PG_DSN" -X -qAt -c "select count(*) from events where ts > '
            "coalesce((select created_at from model_versions where active), 'epoch')\")\"; "
            'echo "new events: $n"; [ "$n" -ge ' + MIN_NEW_EVENTS + " ]"
        ],
        env_vars=[PG_DSN],
    )
    snapshot = KubernetesPodOperator(
        task_id="snapshot",
        name="recsys-snapshot",
        namespace=NAMESPACE,
        image=IMAGE,
        cmds=["bash", "-c"],
        arguments=[
            'mkdir -p "' + RUN + '" && psql "$RS_PG_DSN" -X -q -c "\\copy (select user_id, '
            "item_id, extract(epoch from ts)::bigint as ts, type, value from events "
            "order by ts, event_id) to '" + RUN + "/events.csv' csv header\""
        ],
        env_vars=[PG_DSN],
        volumes=[MODELS_VOLUME],
        volume_mounts=[MODELS_MOUNT],
    )
    pipeline = KubernetesPodOperator(
        task_id="pipeline",
        name="recsys-pipeline",
        namespace=NAMESPACE,
        image=IMAGE,
        cmds=["rs-train"],
        arguments=[
            "pipeline",
            "--dsn", "$(RS_PG_DSN)",
            "--models-dir", MODELS,
            "--version", VERSION,
            "--mlruns", MODELS + "/mlruns",
        ],
        env_vars=[PG_DSN],
        volumes=[MODELS_VOLUME],
        volume_mounts=[MODELS_MOUNT],
        container_resources=TRAIN_RESOURCES,
    )
    verify = KubernetesPodOperator(
        task_id="verify",
        name="recsys-verify",
        namespace=NAMESPACE,
        image=IMAGE,
        cmds=["bash", "-c"],
        arguments=[
            'active="$(psql "$RS_PG_DSN" -X -qAt -c "select version from model_versions '
            'where active")"; echo "active: $active"; [ "$active" = "' + VERSION + '" ] && '
            'test -s "' + MODELS + '/$(psql "$RS_PG_DSN" -X -qAt -c "select path from '
            "model_versions where active\")/manifest.json\""
        ],
        env_vars=[PG_DSN],
        volumes=[MODELS_VOLUME],
        volume_mounts=[MODELS_MOUNT],
        retries=0,
    )

    check_events >> snapshot >> pipeline >> verify
