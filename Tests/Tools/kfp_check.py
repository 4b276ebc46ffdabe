"""Checks mlops' Kubeflow Pipelines outputs with the kfp packages (kfp 2.17, kfp-pipeline-spec).

    kfp_check.py executor-output FILE   FILE parses strictly as an ExecutorOutput; prints it as JSON

Exit 0 when valid; 1 with the parser's message on stderr when not.
"""
import json
import sys

from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2


def executor_output(path):
    with open(path) as f:
        document = json.load(f)
    message = pipeline_spec_pb2.ExecutorOutput()
    # Strict: an unknown field or a bad value fails.
    json_format.ParseDict(document, message, ignore_unknown_fields=False)
    print(json.dumps(json_format.MessageToDict(message), sort_keys=True))


def main():
    command, path = sys.argv[1], sys.argv[2]
    try:
        {"executor-output": executor_output}[command](path)
    except json_format.ParseError as error:
        print(f"{path}: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
