"""GPU model serving: an Auto Scaling group of GPU instances, each running a model server.

The design's Auto Scaling group (``asg``) runs this program: g5-class instances (``g5.xlarge``,
one NVIDIA A10G with 24 GB, unless the request names a type) on the AWS Deep Learning Base GPU
AMI (NVIDIA driver, Docker and the NVIDIA Container Toolkit installed), found through its public
SSM parameter so each launch takes the current build. User data starts the model server as a
container with the NVIDIA runtime: vLLM's OpenAI-compatible server (pinned by tag; any image
that takes vLLM's arguments works), serving the model the team names. It answers on port 8000
behind the load balancer, which asks ``/health`` (200 once the model is loaded) and lets a
generation run five minutes; the group scales on requests per instance, the load a GPU's work
shows to the load balancer (CPU says nothing about it, and GPU utilisation needs an agent on
every instance). The root volume holds the image and the weights, encrypted with the module's
key. The server requires an API key, generated here and kept in Secrets Manager.
"""

from __future__ import annotations

from typing import Any

from agents.catalog.base import BuildContext, Facts, Fragment, Program, blueprint
from agents.catalog.compute import instance_type
from agents.catalog.shared import APP, KEY, REGION, log_group
from agents.messages import t
from core.terraform.model import Block, Call, Ref, Template, local, output, resource, var, variable

# https://docs.aws.amazon.com/dlami/latest/devguide/find-dlami-id.html (x86_64: G4dn, G5, G6, G6e, P4, P5)
AMI = "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id"
# https://hub.docker.com/r/vllm/vllm-openai (OpenAI-compatible API; /health answers 200 when ready)
IMAGE = "vllm/vllm-openai:v0.11.0"
PORT = 8000
API_KEY_ARN = Ref("aws_secretsmanager_secret", "model_api_key", "arn")
HF_TOKEN_ARN = Ref("aws_secretsmanager_secret", "hf_token", "arn")
LOGS = Ref("aws_cloudwatch_log_group", "model_server", "name")
# requests a minute one instance takes before another starts: chat answers of a few hundred
# tokens from an 8B model on one A10G, with room to spare while a new instance loads
REQUESTS_PER_INSTANCE = 60

PROGRAM = Program(
    title="vLLM model server",
    port=PORT,
    health_path="/health",
    health_codes="200",
    # a long answer streams for minutes; the model takes minutes to download and load
    timeout=300,
    warmup=900,
    architecture="X86_64",
    ami_parameter=AMI,
    instance_type="g5.xlarge",
    # the AMI's own 75 GB, the server's image (~20 GB) and the weights (16 GB for 8B in bf16)
    root_gb=200,
    user_data=local("model_server_user_data"),
    requests_per_target=REQUESTS_PER_INSTANCE,
    large_bodies=True,
)
GPU_FAMILIES = ("g4dn", "g5", "g6", "g6e", "p4d", "p5")


@blueprint(
    "gpu",
    title="GPU model serving (vLLM on an Auto Scaling group)",
    concern="gpu.tf",
    why="GPU instances (g5.xlarge unless named) on the AWS Deep Learning GPU AMI run the model "
    "server as a container with the NVIDIA runtime; the load balancer checks /health and holds "
    "long generations, the group scales on requests per instance and replaces a failed server, "
    "weights sit on an encrypted root volume, and the API requires a generated key.",
    requires=("asg", "alb", "vpc", "kms"),
    component="GPU model serving (g5/g6 instances, vLLM)",
    words=r"\bgpus?\b|\bvllm\b|text generation inference|model serv(?:ing|er)|inference server|그래픽\s*카드|모델\s*서빙|추론\s*서버",
    facts=Facts(wanted=lambda req, _chosen: "gpu" in req.asked, direct=True, removable=True),
    program=PROGRAM,
)
def gpu(ctx: BuildContext) -> Fragment:
    out = Fragment()
    out.providers.add("random")
    out.variables += [
        variable("model_id", "string", "The model to serve: a Hugging Face repository (your fine-tuned model's) or a path on the instance"),
        variable("model_server_image", "string", "Model server image (vLLM's OpenAI-compatible server, pinned by tag)", IMAGE),
        variable("max_model_len", "number", "Longest context (prompt and answer, in tokens) the server accepts; more needs more GPU memory", 8192),
    ]
    out.required["model_id"] = t("need.model_id", ctx.req.language)
    api_key = resource("aws_secretsmanager_secret", "model_api_key", name_prefix=Template(local("name"), "-model-api-key-"),
                       description="API key clients send to the model server (Authorization: Bearer)", kms_key_id=KEY.arn)
    api_key.skip("CKV2_AWS_57", "clients hold this key: rotate it by replacing random_password.model_api_key and restarting the instances")
    hf_token = resource("aws_secretsmanager_secret", "hf_token", name_prefix=Template(local("name"), "-hf-token-"),
                        description="Hugging Face access token for a private or gated model (the team puts its value)", kms_key_id=KEY.arn)
    hf_token.skip("CKV2_AWS_57", "a Hugging Face token is issued and revoked on huggingface.co, not by AWS")
    logs = log_group(ctx, out, "model_server", Template("/ec2/", local("name"), "-model-server"))
    out.add(
        "gpu.tf",
        logs,
        resource("random_password", "model_api_key", length=48, special=False),
        api_key,
        resource("aws_secretsmanager_secret_version", "model_api_key", secret_id=Ref("aws_secretsmanager_secret", "model_api_key", "id"),
                 secret_string=Ref("random_password", "model_api_key", "result")),
        hf_token,
        Block("locals", (), {"model_server_user_data": _user_data()}),
    )
    # the instances read the two secrets and write the server's log, nothing more
    out.ask(APP.bind("model_server", statements=(
        {"Sid": "ReadModelServerSecrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
         "Resource": [API_KEY_ARN, HF_TOKEN_ARN]},
        {"Sid": "WriteModelServerLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": Template(Ref("aws_cloudwatch_log_group", "model_server", "arn"), ":*")},
    )))
    kind = instance_type(ctx)
    out.notes += _notes(kind)
    if ctx.has("waf"):
        out.notes.append("The WAF counts, rather than blocks, request bodies over 8 KB (the common rule set's "
                         "`SizeRestrictions_BODY`): prompts are often longer.")
    out.outputs += [
        output("model_api_key_secret_arn", API_KEY_ARN, "Secret holding the API key clients send (Authorization: Bearer)"),
        output("hf_token_secret_arn", HF_TOKEN_ARN, "Secret to put a Hugging Face token in, for a private or gated model"),
    ]
    out.node("aws_secretsmanager_secret.model_api_key", "Model API key", "secretsmanager", "region")
    return out


def _user_data() -> Any:
    """The start-up script: Docker with the NVIDIA runtime, the secrets read with the instance
    role (never written into the launch template), the server started to restart with the host."""
    lines: list[Any] = [
        "#!/bin/bash",
        "# Starts the model server (vLLM) on this GPU instance; logs go to CloudWatch",
        "set -euo pipefail",
        Template("export AWS_DEFAULT_REGION=", REGION),
        "systemctl enable --now docker",
        "nvidia-ctk runtime configure --runtime=docker && systemctl restart docker",
        "nvidia-smi",
        "umask 077",
        Template("API_KEY=$(aws secretsmanager get-secret-value --secret-id ", API_KEY_ARN, " --query SecretString --output text)"),
        "printf 'VLLM_API_KEY=%s\\n' \"$API_KEY\" > /etc/model-server.env",
        Template("if HF_TOKEN=$(aws secretsmanager get-secret-value --secret-id ", HF_TOKEN_ARN,
                 " --query SecretString --output text 2>/dev/null); then printf 'HF_TOKEN=%s\\n' \"$HF_TOKEN\" >> /etc/model-server.env; fi"),
        "mkdir -p /opt/models",
        Template(
            "docker run -d --name model-server --restart unless-stopped --runtime nvidia --gpus all --ipc host",
            f" -p {PORT}:{PORT} -v /opt/models:/root/.cache/huggingface --env-file /etc/model-server.env",
            " --log-driver awslogs --log-opt awslogs-region=", REGION, " --log-opt awslogs-group=", LOGS,
            " ", var("model_server_image"), " --model ", var("model_id"), f" --port {PORT}",
            " --max-model-len ", var("max_model_len"),
        ),
    ]
    return Call("join", "\n", lines)


def _notes(kind: str) -> list[str]:
    gpu_family = kind.split(".")[0] in GPU_FAMILIES
    notes = [
        "GPU quota: new AWS accounts start with a quota of 0 vCPUs for \"Running On-Demand G and VT instances\" "
        f"(Service Quotas, EC2), so the group cannot launch `{kind}` until AWS raises it: request at least the vCPUs of "
        "your largest group size (g5.xlarge has 4) before apply; the increase can take a day.",
        f"Check that `{kind}` is offered in your region and its zones: `aws ec2 describe-instance-type-offerings "
        f"--location-type availability-zone --filters Name=instance-type,Values={kind}`; GPU types are missing from "
        "some regions and zones.",
        "`model_id` has no default: set it to your model's Hugging Face repository; for a private or gated model (Llama) "
        "put a Hugging Face token in the `hf_token` secret before apply. The first start downloads the weights and "
        "loads them onto the GPU (minutes), so a new instance counts as healthy only after `/health` answers.",
        "Clients call the OpenAI-compatible API (`/v1/chat/completions`) with `Authorization: Bearer <key>`, the key "
        "being in the `model_api_key` secret; stream long answers (`\"stream\": true`).",
    ]
    if not gpu_family:
        notes.append(f"`{kind}` is not a GPU type: the model server needs an NVIDIA GPU (g5, g6, g6e...).")
    return notes

