"""Structure of deploy/airflow/recsys_retrain.py, checked without Airflow (which cannot be
installed here): the file is parsed with ast and its constants evaluated.

Checks: the DAG's id, schedule (the same as the CronJob deploy/k8s/base/retrain.yaml), one run
at a time, retries; the tasks and their order; every task runs the trainer image of
deploy/docker/Dockerfile with RS_PG_DSN from the Secret recsys-secrets (key pg-dsn) and the
models volume of deploy/k8s (PVC recsys-models); the pipeline task runs an rs-train command that
exists with flags rs-train pipeline accepts; the SQL of the psql tasks names tables that
db/migrations creates.

Run: python3 deploy/airflow/test_dag.py   (scripts/check-deploy.sh runs it)
"""
import ast
import os
import re
import subprocess
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DAG_FILE = os.path.join(HERE, "recsys_retrain.py")
ORDER = ["check_events", "snapshot", "pipeline", "verify"]


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
        for var, (_, kw) in self.m.tasks.items():
            image = self.m.value(kw["image"])
            self.assertRegex(image, r"/recsys/trainer:[\w.]+$", var)
            self.assertNotRegex(image, r":latest$", var)
            env = self.m.value(kw["env_vars"])
            self.assertEqual(len(env), 1, var)
            ref = env[0]["value_from"]["secret_key_ref"]
            self.assertEqual((env[0]["name"], ref["name"], ref["key"]),
                             ("RS_PG_DSN", "recsys-secrets", "pg-dsn"), var)

    def test_models_volume_is_the_clusters(self):
        pvc = re.search(r"kind: PersistentVolumeClaim\s+metadata:\s+name: (\S+)",
                        read("deploy", "k8s", "base", "models.yaml"))
        for var in ["snapshot", "pipeline", "verify"]:
            _, kw = self.m.tasks[var]
            vols = self.m.value(kw["volumes"])
            mounts = self.m.value(kw["volume_mounts"])
            self.assertEqual(vols[0]["persistent_volume_claim"]["claim_name"], pvc.group(1))
            self.assertEqual(mounts[0]["mount_path"], self.m.value(self.m.consts["MODELS"]))

    def test_pipeline_task_runs_rs_train_pipeline_with_flags_it_accepts(self):
        _, kw = self.m.tasks["pipeline"]
        self.assertEqual(self.m.value(kw["cmds"]), ["rs-train"])
        args = self.m.value(kw["arguments"])
        commands = re.findall(r'\{"(\w+)", tr\w*_cmd_\w+', read("services", "trainer", "main.c"))
        self.assertIn(args[0], commands)
        self.assertEqual(args[0], "pipeline")
        usage = read("services", "trainer", "commands.c")
        for flag in [a for a in args if a.startswith("--")]:
            self.assertIn(flag, usage, "rs-train pipeline does not document " + flag)
        # The DSN comes from the environment the pod spec expands; the version is per run.
        self.assertIn("$(RS_PG_DSN)", args)
        self.assertIn("{{ ds_nodash }}", args[args.index("--version") + 1])

    def test_sql_names_tables_the_migrations_create(self):
        tables = set(re.findall(r"create table (?:if not exists )?(\w+)", "".join(
            read("db", "migrations", f) for f in sorted(os.listdir(os.path.join(ROOT, "db", "migrations"))))))
        for var in ["check_events", "snapshot", "verify"]:
            _, kw = self.m.tasks[var]
            self.assertEqual(self.m.value(kw["cmds"]), ["bash", "-c"], var)
            script = self.m.value(kw["arguments"])[0]
            self.assertIn("psql", script, var)
            used = re.findall(r"\bfrom (\w+)", re.sub(r"extract\([^)]*\)", "", script))
            self.assertTrue(used, var)
            for t in used:
                self.assertIn(t, tables, "%s: table %s" % (var, t))

    def test_shell_scripts_parse(self):
        for var in ["check_events", "snapshot", "verify"]:
            _, kw = self.m.tasks[var]
            script = self.m.value(kw["arguments"])[0]
            r = subprocess.run(["bash", "-n", "-c", script], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, "%s: %s" % (var, r.stderr))

    def test_verify_checks_the_version_the_pipeline_published(self):
        _, kw = self.m.tasks["verify"]
        script = self.m.value(kw["arguments"])[0]
        self.assertIn(self.m.value(self.m.consts["VERSION"]), script)
        self.assertIn("manifest.json", script)


if __name__ == "__main__":
    unittest.main(verbosity=1)
