"""startup: each component's start-up in its image against a warm start in the dev venv.

Start-up is the time from the start of the task's Python process to the first statement of the
component's body after its imports: the compiled command and arguments run unchanged (the KFP
executor loads the component and maps its inputs), except that a probe line is inserted in the
component's source, after the body's imports, that prints the process's age and exits. The same
command runs in the component's image (buildah) and in the dev venv (`python3` of .venv, bytecode
cached: the warm reference). Each side: a warm-up run, then the best of 2. Images are those `make images` built;
without buildah or images the section is skipped, with the reason.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

from benchmarks.harness import ROOT, Context, Figure, skipped

NAME = "startup"
RUNS = 2

FINAL_STATUS = {"state": "SUCCEEDED", "pipelineJobResourceName": "startup", "pipelineTaskName": "startup"}
PROBE = (
    "import os as _o; _s = open('/proc/self/stat').read().rsplit(')', 1)[1].split(); "
    "print('KEEL-STARTUP', float(open('/proc/uptime').read().split()[0]) - int(_s[19]) / _o.sysconf('SC_CLK_TCK'), "
    "flush=True); _o._exit(0)"
)


def with_probe(source: str, function: str) -> str:
    """`source` with PROBE as the first statement of `function`'s body after its docstring and imports."""
    tree = ast.parse(source)
    body = next(
        node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == function
    ).body
    first = next(
        node
        for node in body
        if not isinstance(node, ast.Import | ast.ImportFrom)
        and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
    )
    lines = source.splitlines()
    indent = lines[first.lineno - 1][: first.col_offset]
    lines.insert(first.lineno - 1, indent + PROBE)
    return "\n".join(lines) + "\n"


def _command(compiled: Path, scratch: Path) -> tuple[list[str], str]:
    """The compiled command with its placeholders filled by kfp.local's own code and the probe
    inserted; inputs without a default get placeholder values (the probe exits before any is used;
    an exit task's PipelineTaskFinalStatus, type 7, is read by the executor first: it gets one)."""
    from kfp import dsl
    from kfp.components import load_component_from_file
    from kfp.local import executor_input_utils, placeholder_utils, task_dispatcher
    from kfp.local import utils as local_utils

    spec = load_component_from_file(str(compiled)).pipeline_spec
    name, component = next(iter(spec.components.items()))
    executor = local_utils.struct_to_executor_spec(
        task_dispatcher.get_executor_spec(spec, component.executor_label)
    )
    arguments = {}
    for key, parameter in component.input_definitions.parameters.items():
        if not parameter.HasField("default_value"):
            arguments[key] = {1: 1.0, 2: 1, 3: "x", 4: True, 5: [], 6: {}, 7: FINAL_STATUS}.get(
                parameter.parameter_type, "x"
            )
    for key, artifact in component.input_definitions.artifacts.items():
        if not artifact.is_optional:
            made = dsl.Artifact(name=key, uri=str(scratch / key))
            arguments[key] = [made] if artifact.is_artifact_list else made
    executor_input = executor_input_utils.construct_executor_input(
        component, arguments, str(scratch / "out"), False
    )
    command = placeholder_utils.replace_placeholders(
        full_command=[*executor.container.command, *executor.container.args],
        executor_input_dict=executor_input_utils.executor_input_to_dict(executor_input, component),
        pipeline_resource_name="startup",
        task_resource_name=executor_input_utils.get_local_task_resource_name(name),
        pipeline_root=str(scratch),
        unique_pipeline_id=placeholder_utils.make_random_id(),
    )
    function = command[command.index("--function_to_execute") + 1]
    source_at = next(i for i, part in enumerate(command) if f"def {function}(" in part)
    command[source_at] = with_probe(command[source_at], function)
    return command, executor.container.image


def _probe(run: list[str], env: dict[str, str] | None = None) -> float:
    done = subprocess.run(run, capture_output=True, text=True, env=env)
    found = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("KEEL-STARTUP ")]
    if not found:
        raise RuntimeError(f"no start-up probe output ({done.returncode}): {done.stderr[-2000:]}")
    return float(found[-1])


def _in_image(image: str, command: list[str], tries: int = 2) -> float:
    """The probe in a new container of `image` (buildah run fails now and then on a busy machine: retried)."""
    try:
        return _in_container(image, command)
    except (RuntimeError, subprocess.CalledProcessError):
        if tries <= 1:
            raise
        return _in_image(image, command, tries - 1)


def _in_container(image: str, command: list[str]) -> float:
    container = subprocess.run(
        ["buildah", "from", "--pull=false", image], check=True, capture_output=True, text=True
    ).stdout.strip()
    try:
        env = ["-e", "KEEL_NETWORK=loopback", "-e", "KEEL_TRACKING=off", "-e", "HOME=/tmp"]
        return _probe(["buildah", "run", "--isolation", "chroot", *env, container, "--", *command])
    finally:
        subprocess.run(["buildah", "rm", container], capture_output=True)


def _image_exists(image: str) -> bool:
    return (
        subprocess.run(["buildah", "inspect", "--type", "image", image], capture_output=True).returncode == 0
    )


def run(context: Context) -> dict[str, Figure]:
    import components
    from pipelines.compiling import compile_all

    if not shutil.which("buildah") or os.geteuid() != 0:
        return {"images": skipped("needs buildah as root to run the images (apt-get install buildah)")}
    compiled = {
        p.stem: p for p in compile_all(context.scratch / "startup-yaml", names=list(components.__all__))
    }
    dev_env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    dev_env |= {"KEEL_TRACKING": "off", "PYTHONPATH": str(ROOT)}
    figures: dict[str, Figure] = {}
    for name in components.__all__:
        command, image = _command(compiled[name], context.scratch / f"startup-{name}")
        if not _image_exists(image):
            figures[f"{name}_seconds"] = skipped(f"no image {image}: run `make images` first")
            continue
        # each side: a first run warms the page cache, then the best of RUNS
        dev = min(_probe(command, dev_env) for _ in range(RUNS + 1))
        ours = min(_in_image(image, command) for _ in range(RUNS + 1))
        figures[f"{name}_seconds"] = Figure(round(ours, 2), "s", reference=f"in {image}, best of {RUNS}")
        figures[f"{name}_ratio_to_dev"] = Figure(
            round(ours / dev, 3), goal="<= 1.5", reference=f"warm in the dev venv: {dev:.2f} s"
        )
        print(f"  {name}: {ours:.2f} s in its image, {dev:.2f} s in the dev venv", flush=True)
    return figures
