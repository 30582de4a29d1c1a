"""Structure of deploy/airflow/recsys_retrain.py, checked without Airflow (which cannot be
installed here): the file is parsed with ast and its constants evaluated.

Checks: the DAG's id, schedule (the same as the CronJob deploy/k8s/base/retrain.yaml), one run
at a time, retries; the tasks and their order (check_events, the pipeline's five stages in the
order `rs-train pipeline --help` lists them, verify); every task runs the trainer image of
deploy/docker/Dockerfile with RS_PG_DSN from the Secret recsys-secrets (key pg-dsn) and the
models volume of deploy/k8s (PVC recsys-models); each stage task runs `rs-train pipeline --stage
<its task id>` with the same options as every other stage, options that the real rs-train
accepts (parsed from its --help and given to its own parser: the command must exit 0 with --help
appended), a run folder on the models volume per logical date, and the CronJob's training
options (so both train the same model); the SQL of the psql tasks names tables that
db/migrations creates.

The rs-train binary: $RS_TRAIN_BIN, else build-test/services/trainer/rs-train; without one the
test fails (build first). Run: RS_TRAIN_BIN=build/services/trainer/rs-train python3
deploy/airflow/test_dag.py   (scripts/check-deploy.sh runs it with the build it checks)
"""
import ast
import os
import re
import subprocess
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DAG_FILE = os.path.join(HERE, "recsys_retrain.py")
STAGES = ["snapshot", "split", "fit", "evaluate", "publish"]
ORDER = ["check_events"] + STAGES + ["verify"]
# options of a stage that name where things go rather than what is trained
PLACE_OPTIONS = {"--dsn", "--models-dir", "--run-dir", "--stage", "--version", "--mlruns", "--quiet"}


def rs_train():
    """The rs-train binary to check the commands against (fails closed when there is none)."""
    path = os.environ.get("RS_TRAIN_BIN") or os.path.join(ROOT, "build-test", "services",
                                                          "trainer", "rs-train")
    if not os.access(path, os.X_OK):
        raise AssertionError("no rs-train binary at %s: build it, or set RS_TRAIN_BIN" % path)
    return path


def pipeline_help():
    """rs-train pipeline --help: {option: takes a value}, and the stages in their order."""
    r = subprocess.run([rs_train(), "pipeline", "--help"], capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError("rs-train pipeline --help failed: " + r.stderr)
    options = {}
    for m in re.finditer(r"^  (--[a-z][\w-]*)(?: ([A-Z][\w.]*))?(?:\s|$)", r.stdout, re.M):
        options.setdefault(m.group(1), m.group(2) is not None)
    stages = re.search(r"^  --stage STAGE\s+run one stage: ([a-z, ]+)$", r.stdout, re.M)
    if not options or stages is None:
        raise AssertionError("cannot read the options and stages of rs-train pipeline --help:\n"
                             + r.stdout)
    return options, stages.group(1).split(", ")


def read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


class Module:
    """The DAG file: module-level constants, the DAG(...) call and the operator calls."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.tree = ast.parse(f.read(), path)
        self.consts = {}
        self.imports = {}
        for node in self.tree.body:
            if isinstance(node, ast.ImportFrom):
                for a in node.names:
                    self.imports[a.asname or a.name] = node.module
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                name = node.targets[0]
                if isinstance(name, ast.Name):
                    self.consts[name.id] = node.value
        self.with_dag = next(n for n in self.tree.body if isinstance(n, ast.With))
        self.dag_call = self.with_dag.items[0].context_expr
        self.tasks = {}
        self.chains = []
        for node in self.with_dag.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                kw = {k.arg: k.value for k in node.value.keywords}
                self.tasks[node.targets[0].id] = (node.value, kw)
            elif isinstance(node, ast.Expr) and isinstance(node.value, ast.BinOp):
                self.chains.append(self.chain(node.value))

    def chain(self, node):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.RShift):
            return self.chain(node.left) + self.chain(node.right)
        if isinstance(node, ast.Name):
            return [node.id]
        raise AssertionError("unexpected dependency expression: " + ast.dump(node))

    def value(self, node):
        """Evaluate constants, names of module constants, +, lists, dicts, simple calls."""
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in self.consts:
                return self.value(self.consts[node.id])
            return node.id
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self.value(node.left) + self.value(node.right)
        if isinstance(node, ast.List):
            return [self.value(e) for e in node.elts]
        if isinstance(node, ast.Dict):
            return {self.value(k): self.value(v) for k, v in zip(node.keys, node.values)}
        if isinstance(node, ast.Call):
            fn = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
            return {"__call__": fn, **{k.arg: self.value(k.value) for k in node.keywords}}
        raise AssertionError("cannot evaluate " + ast.dump(node))


class DagStructure(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = Module(DAG_FILE)
        cls.dag = {k.arg: cls.m.value(k.value) for k in cls.m.dag_call.keywords}

    def test_imports_are_airflows_dag_and_pod_operator(self):
        self.assertEqual(self.m.imports.get("DAG"), "airflow")
        self.assertEqual(self.m.imports.get("KubernetesPodOperator"),
                         "airflow.providers.cncf.kubernetes.operators.pod")
        self.assertEqual(self.m.dag_call.func.id, "DAG")

    def test_dag_settings(self):
        self.assertEqual(self.dag["dag_id"], "recsys_retrain")
        self.assertEqual(self.dag["max_active_runs"], 1)
        self.assertIs(self.dag["catchup"], False)
        args = self.dag["default_args"]
        self.assertGreaterEqual(args["retries"], 1)
        self.assertEqual(args["retry_delay"]["__call__"], "timedelta")

    def test_schedule_is_the_cronjobs(self):
        cron = re.search(r'schedule:\s*"([^"]+)"', read("deploy", "k8s", "base", "retrain.yaml"))
        self.assertIsNotNone(cron, "retrain.yaml has no schedule")
        self.assertEqual(self.dag["schedule"], cron.group(1))

    def test_tasks_and_order(self):
        self.assertEqual(list(self.m.tasks), ORDER)
        self.assertEqual(self.m.chains, [ORDER])
        for var, (call, kw) in self.m.tasks.items():
            self.assertEqual(call.func.id, "KubernetesPodOperator", var)
            self.assertEqual(self.m.value(kw["task_id"]), var)

    def test_every_task_runs_the_trainer_image_with_the_secret(self):
        targets = re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", read("deploy", "docker", "Dockerfile"), re.M)
        self.assertIn("trainer", targets)
        threads = re.search(r"name: RS_TRAIN_THREADS, value: \"(\d+)\"",
                            read("deploy", "k8s", "base", "retrain.yaml"))
        self.assertIsNotNone(threads, "retrain.yaml sets no RS_TRAIN_THREADS")
        for var, (_, kw) in self.m.tasks.items():
            image = self.m.value(kw["image"])
            self.assertRegex(image, r"/recsys/trainer:[\w.]+$", var)
            self.assertNotRegex(image, r":latest$", var)
            env = self.m.value(kw["env_vars"])
            ref = env[0]["value_from"]["secret_key_ref"]
            self.assertEqual((env[0]["name"], ref["name"], ref["key"]),
                             ("RS_PG_DSN", "recsys-secrets", "pg-dsn"), var)
            if var in STAGES:  # the CronJob's threads
                self.assertEqual([(e["name"], e["value"]) for e in env[1:]],
                                 [("RS_TRAIN_THREADS", threads.group(1))], var)
            else:
                self.assertEqual(len(env), 1, var)

    def test_models_volume_is_the_clusters(self):
        pvc = re.search(r"kind: PersistentVolumeClaim\s+metadata:\s+name: (\S+)",
                        read("deploy", "k8s", "base", "models.yaml"))
        for var in STAGES + ["verify"]:
            _, kw = self.m.tasks[var]
            vols = self.m.value(kw["volumes"])
            mounts = self.m.value(kw["volume_mounts"])
            self.assertEqual(vols[0]["persistent_volume_claim"]["claim_name"], pvc.group(1))
            self.assertEqual(mounts[0]["mount_path"], self.m.value(self.m.consts["MODELS"]))

    def stage_args(self, var):
        _, kw = self.m.tasks[var]
        self.assertEqual(self.m.value(kw["cmds"]), ["rs-train"], var)
        return self.m.value(kw["arguments"])

    def test_stage_tasks_are_the_pipelines_stages_in_its_order(self):
        _, stages = pipeline_help()
        self.assertEqual(STAGES, stages)
        commands = re.findall(r'\{"(\w+)", tr\w*_cmd_\w+', read("services", "trainer", "main.c"))
        for var in STAGES:
            args = self.stage_args(var)
            self.assertIn(args[0], commands)
            self.assertEqual(args[:3], ["pipeline", "--stage", var])

    def test_stage_commands_are_ones_rs_train_accepts(self):
        options, _ = pipeline_help()
        for var in STAGES:
            args = self.stage_args(var)
            i = 1
            while i < len(args):
                flag = args[i]
                self.assertIn(flag, options, "%s: rs-train pipeline has no option %s" % (var, flag))
                i += 2 if options[flag] else 1
                self.assertLessEqual(i, len(args), "%s: %s has no value" % (var, flag))
            # rs-train's own parser accepts every option and value (--help: parse, print, exit 0)
            r = subprocess.run([rs_train()] + args + ["--help"], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, "%s: rs-train refuses %s: %s" % (var, args, r.stderr))

    def test_every_stage_gets_the_same_options_and_one_run_folder_per_date(self):
        first = self.stage_args(STAGES[0])[3:]
        for var in STAGES[1:]:
            self.assertEqual(self.stage_args(var)[3:], first, var)
        opt = dict(zip(first[::2], first[1::2]))
        models = self.m.value(self.m.consts["MODELS"])
        self.assertEqual(opt["--models-dir"], models)
        self.assertTrue(opt["--run-dir"].startswith(models + "/"), opt["--run-dir"])
        self.assertIn("{{ ds_nodash }}", opt["--run-dir"])
        # The DSN comes from the environment the pod spec expands; the version is per run.
        self.assertEqual(opt["--dsn"], "$(RS_PG_DSN)")
        self.assertIn("{{ ds_nodash }}", opt["--version"])

    def test_stages_train_what_the_cronjob_trains(self):
        cron = re.search(r"command: \[([^\]]+)\]", read("deploy", "k8s", "base", "retrain.yaml"))
        self.assertIsNotNone(cron, "retrain.yaml has no command")
        cmd = [w.strip() for w in cron.group(1).split(",")]
        self.assertEqual(cmd[:2], ["rs-train", "pipeline"])
        options, _ = pipeline_help()

        def training(args):
            out, i = [], 0
            while i < len(args):
                flag = args[i]
                n = 2 if options.get(flag) else 1
                if flag not in PLACE_OPTIONS:
                    out.append(args[i:i + n])
                i += n
            return out

        self.assertEqual(training(self.stage_args("fit")[3:]), training(cmd[2:]))
        self.assertEqual(cmd[cmd.index("--models-dir") + 1], self.m.value(self.m.consts["MODELS"]))

    def test_sql_names_tables_the_migrations_create(self):
        tables = set(re.findall(r"create table (?:if not exists )?(\w+)", "".join(
            read("db", "migrations", f) for f in sorted(os.listdir(os.path.join(ROOT, "db", "migrations"))))))
        for var in ["check_events", "verify"]:
            _, kw = self.m.tasks[var]
            self.assertEqual(self.m.value(kw["cmds"]), ["bash", "-c"], var)
            script = self.m.value(kw["arguments"])[0]
            self.assertIn("psql", script, var)
            used = re.findall(r"\bfrom (\w+)", re.sub(r"extract\([^)]*\)", "", script))
            self.assertTrue(used, var)
            for t in used:
                self.assertIn(t, tables, "%s: table %s" % (var, t))

    def test_shell_scripts_parse(self):
        for var in ["check_events", "verify"]:
            _, kw = self.m.tasks[var]
            script = self.m.value(kw["arguments"])[0]
            r = subprocess.run(["bash", "-n", "-c", script], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, "%s: %s" % (var, r.stderr))

    def test_verify_checks_the_version_the_pipeline_published(self):
        _, kw = self.m.tasks["verify"]
        script = self.m.value(kw["arguments"])[0]
        self.assertIn(self.m.value(self.m.consts["VERSION"]), script)
        self.assertIn("manifest.json", script)
        self.assertEqual(self.m.tasks["verify"][1]["retries"].value, 0)
        publish = self.stage_args("publish")
        self.assertEqual(publish[publish.index("--version") + 1],
                         self.m.value(self.m.consts["VERSION"]))


if __name__ == "__main__":
    unittest.main(verbosity=1)
