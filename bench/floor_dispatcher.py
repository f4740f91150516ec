"""The floor for the dispatcher: the same preflight reads and the same SendCommand, with
nothing but boto3.

    python bench/floor_dispatcher.py EVENT.json REPORT.json

REPORT.json receives time.monotonic() when the work was done, and how long the imports and
the work took.
"""

import time

started = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

# The same sys.path as the handler's: the function's folder first.
sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", ""))

import boto3  # noqa: E402

imported = time.perf_counter()

request = json.load(open(sys.argv[1], encoding="utf-8"))  # noqa: PTH123, SIM115
group = boto3.client("autoscaling").describe_auto_scaling_groups(
    AutoScalingGroupNames=[request["group"]]
)["AutoScalingGroups"][0]
in_service = [i["InstanceId"] for i in group["Instances"] if i["LifecycleState"] == "InService"]
ssm = boto3.client("ssm")
ssm.describe_instance_information(Filters=[{"Key": "InstanceIds", "Values": in_service}])
ssm.send_command(
    Targets=[{"Key": "tag:aws:autoscaling:groupName", "Values": [request["group"]]}],
    DocumentName=os.environ["DOCUMENT_NAME"],
    Parameters={"prefix": [""]},
    NotificationConfig={
        "NotificationArn": os.environ["NOTIFICATION_TOPIC_ARN"],
        "NotificationEvents": ["Success", "TimedOut", "Cancelled", "Failed"],
        "NotificationType": "Command",
    },
    ServiceRoleArn=os.environ["NOTIFICATION_ROLE_ARN"],
)
with open(sys.argv[2], "w", encoding="utf-8") as report:  # noqa: PTH123
    done = time.perf_counter()
    json.dump(
        {
            "answered": time.monotonic(),
            "cpu_ms": time.process_time() * 1000,
            "import_ms": (imported - started) * 1000,
            "work_ms": (done - imported) * 1000,
        },
        report,
    )
