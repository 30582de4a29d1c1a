"""RecSysSoA retraining as an Airflow DAG, for teams that run their data work in Airflow.

Runs in the cluster of deploy/k8s as container tasks (KubernetesPodOperator) with the trainer
image, the Secret recsys-secrets (key pg-dsn) and the models volume (PVC recsys-models). The
training is the pipeline's own five stages, each one `rs-train pipeline --stage STAGE` in its own
pod; they hand their results to each other through the run folder RUN on the models volume
(models/runs/<logical date>), so the DAG trains exactly the model the CronJob
deploy/k8s/base/retrain.yaml (`rs-train pipeline`, the same five stages in one process) trains:

  check_events  enough new events since the active version? (psql; fails -> no training)
  snapshot      a new run in RUN (run.json: run id, options; training_runs row 'running'); the
                event store -> RUN/snapshot: the weighted interactions with explicit negatives
                and the id maps, exactly as the pipeline builds them
  split         -> RUN/split: per-user temporal 80/20 train and test (tuning carves its own
                validation slice from train)
  fit           -> RUN/fit/<model>: each model tuned (bounded grids) and fitted on train
  evaluate      -> RUN/evaluation.json: every model on the test split, vs pop, the best
  publish       the best refitted on all the data -> version {{ ds_nodash }}.af in the models
                volume, registered and activated (serving switches), MLflow run, training_runs
                row 'finished'; a failed run publishes nothing and leaves the active version
  verify        the new version is the active one and its manifest is in the volume; run
                folders older than 7 days are removed

Every stage checks that the stages it reads ran for this run and that their files are unchanged
(md5 in RUN/run.json) and refuses otherwise, so a retried or re-run task never mixes two runs;
every stage gets the same options (a run refuses a stage given other ones). A failing stage
records the run as failed in training_runs.

Schedule: daily at 02:30 UTC ("30 2 * * *"), like the CronJob; run one of the two (suspend the
CronJob: kubectl patch cronjob retrain -p '{"spec":{"suspend":true}}'). Retries: 2, 10 minutes
apart, per task (a stage is retried on its own: its inputs are still in RUN; a retried snapshot
starts a new run); verify is not retried. One run at a time. docs/DEPLOY.md "Retraining".

deploy/airflow/test_dag.py checks this file's structure without importing Airflow, and the
stage commands against `rs-train pipeline --help`.
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
KEEP_RUN_DAYS = "7"

# The options every stage of a run is given (the run refuses a stage with other ones).
STAGE_ARGS = [
    "--run-dir", RUN,
    "--dsn", "$(RS_PG_DSN)",
    "--models-dir", MODELS,
    "--version", VERSION,
    "--mlruns", MODELS + "/mlruns",
]

PG_DSN = k8s.V1EnvVar(
    name="RS_PG_DSN",
    value_from=k8s.V1EnvVarSource(
        secret_key_ref=k8s.V1SecretKeySelector(name="recsys-secrets", key="pg-dsn")
    ),
)
THREADS = k8s.V1EnvVar(name="RS_TRAIN_THREADS", value="4")
MODELS_VOLUME = k8s.V1Volume(
    name="models",
    persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(claim_name="recsys-models"),
)
MODELS_MOUNT = k8s.V1VolumeMount(name="models", mount_path=MODELS)
# fit, evaluate and publish hold the models; snapshot and split the data
TRAIN_RESOURCES = k8s.V1ResourceRequirements(
    requests={"cpu": "2", "memory": "2Gi"}, limits={"cpu": "4", "memory": "8Gi"}
)
DATA_RESOURCES = k8s.V1ResourceRequirements(
    requests={"cpu": "1", "memory": "1Gi"}, limits={"cpu": "2", "memory": "4Gi"}
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
        cmds=["rs-train"],
        arguments=["pipeline", "--stage", "snapshot"] + STAGE_ARGS,
        env_vars=[PG_DSN, THREADS],
        volumes=[MODELS_VOLUME],
        volume_mounts=[MODELS_MOUNT],
        container_resources=DATA_RESOURCES,
    )
    split = KubernetesPodOperator(
        task_id="split",
        name="recsys-split",
        namespace=NAMESPACE,
        image=IMAGE,
        cmds=["rs-train"],
        arguments=["pipeline", "--stage", "split"] + STAGE_ARGS,
        env_vars=[PG_DSN, THREADS],
        volumes=[MODELS_VOLUME],
        volume_mounts=[MODELS_MOUNT],
        container_resources=DATA_RESOURCES,
    )
    fit = KubernetesPodOperator(
        task_id="fit",
        name="recsys-fit",
        namespace=NAMESPACE,
        image=IMAGE,
        cmds=["rs-train"],
        arguments=["pipeline", "--stage", "fit"] + STAGE_ARGS,
        env_vars=[PG_DSN, THREADS],
        volumes=[MODELS_VOLUME],
        volume_mounts=[MODELS_MOUNT],
        container_resources=TRAIN_RESOURCES,
    )
    evaluate = KubernetesPodOperator(
        task_id="evaluate",
        name="recsys-evaluate",
        namespace=NAMESPACE,
        image=IMAGE,
        cmds=["rs-train"],
        arguments=["pipeline", "--stage", "evaluate"] + STAGE_ARGS,
        env_vars=[PG_DSN, THREADS],
        volumes=[MODELS_VOLUME],
        volume_mounts=[MODELS_MOUNT],
        container_resources=TRAIN_RESOURCES,
    )
    publish = KubernetesPodOperator(
        task_id="publish",
        name="recsys-publish",
        namespace=NAMESPACE,
        image=IMAGE,
        cmds=["rs-train"],
        arguments=["pipeline", "--stage", "publish"] + STAGE_ARGS,
        env_vars=[PG_DSN, THREADS],
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
            "model_versions where active\")/manifest.json\" && "
            'find "' + MODELS + '/runs" -mindepth 1 -maxdepth 1 -type d -mtime +'
            + KEEP_RUN_DAYS + " -exec rm -rf {} +"
        ],
        env_vars=[PG_DSN],
        volumes=[MODELS_VOLUME],
        volume_mounts=[MODELS_MOUNT],
        retries=0,
    )

    check_events >> snapshot >> split >> fit >> evaluate >> publish >> verify
