"""Issue #17: docker-py 7 against `hutch system service` (DOCKER_HOST).

Pulls IMAGE with streamed progress, then creates, starts, execs in,
streams the logs of and removes a container. Prints `ok` at the end; any
failed check raises.
"""
import os
import sys

import docker

image = sys.argv[1]
repo, tag = image.rsplit(":", 1) if ":" in image.rsplit("/", 1)[-1] else (image, "latest")
client = docker.DockerClient(base_url=os.environ["DOCKER_HOST"], version="1.41", timeout=120)
api = client.api
assert client.ping()

# A pull's progress, decoded line by line, as Docker sends it.
lines = list(api.pull(repo, tag=tag, stream=True, decode=True))
layers = [l for l in lines if "progressDetail" in l]
assert layers, lines
for l in layers:
    assert {"status", "progressDetail", "id"} <= set(l), l
    assert isinstance(l["progressDetail"], dict), l
    assert len(l["id"]) == 12, l
steps = [l["status"] for l in layers]
for want in ("Pulling fs layer", "Download complete", "Pull complete"):
    assert want in steps, steps
assert any(l.get("status", "").startswith("Digest: sha256:") for l in lines), lines
assert lines[-1]["status"] == f"Status: Downloaded newer image for {repo}:{tag}", lines[-1]
again = list(api.pull(repo, tag=tag, stream=True, decode=True))
assert again[-1]["status"] == f"Status: Image is up to date for {repo}:{tag}", again
print("pulled", len(layers), "layer lines")

c = client.containers.create(
    image,
    ["sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.2; done; exec sleep 600"],
    name="pyctr",
    labels={"made-by": "docker-py"},
)
c.start()
c.reload()
assert c.status == "running", c.status
assert c.labels["made-by"] == "docker-py", c.labels

code, out = c.exec_run(["sh", "-c", "echo exec-out; exit 4"])
assert (code, out) == (4, b"exec-out\n"), (code, out)
code, out = c.exec_run("id -u", user="1000")
assert (code, out) == (0, b"1000\n"), (code, out)

seen = b""
for chunk in c.logs(stream=True, follow=True):
    seen += chunk
    if b"line3" in seen:
        break
assert seen.startswith(b"line1\nline2\n"), seen
print("logs", seen.decode().split())

c.stop(timeout=1)
c.reload()
assert c.status == "exited", c.status
c.remove()
assert client.containers.list(all=True, filters={"label": "made-by=docker-py"}) == []
print("ok")
