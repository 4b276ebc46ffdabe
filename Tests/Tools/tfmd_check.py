"""Reads a TFMD message mlops wrote with the PyPI tensorflow-metadata package's own classes
(statistics_pb2, schema_pb2, anomalies_pb2) and prints it as a dict (proto field names), so a
test can compare it field by field with mlops' own numbers.

    tfmd_check.py statistics|schema|anomalies binary|json|text FILE

Exits 2 when the file does not parse, or when any message in it holds fields the real
definitions do not know (a wrong field number or wire type shows up as an unknown field).
"""
import json
import sys

from google.protobuf import json_format, text_format, unknown_fields
from google.protobuf.message import DecodeError
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

KINDS = {
    "statistics": statistics_pb2.DatasetFeatureStatisticsList,
    "schema": schema_pb2.Schema,
    "anomalies": anomalies_pb2.Anomalies,
}


def unknown(message, path="") -> list:
    """Paths of the (sub)messages that hold fields their definition lacks."""
    found = [path or "/"] if len(unknown_fields.UnknownFieldSet(message)) else []
    for field, value in message.ListFields():
        if field.type != field.TYPE_MESSAGE:
            continue
        if field.message_type.GetOptions().map_entry:
            items = value.items()
            if field.message_type.fields_by_name["value"].type == field.TYPE_MESSAGE:
                for key, item in items:
                    found += unknown(item, f"{path}/{field.name}[{key}]")
        elif field.label == field.LABEL_REPEATED:
            for index, item in enumerate(value):
                found += unknown(item, f"{path}/{field.name}[{index}]")
        else:
            found += unknown(value, f"{path}/{field.name}")
    return found


def main() -> int:
    kind, encoding, path = sys.argv[1:4]
    message = KINDS[kind]()
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        if encoding == "binary":
            message.ParseFromString(data)
        elif encoding == "json":
            json_format.Parse(data.decode("utf-8"), message)
        else:
            text_format.Parse(data.decode("utf-8"), message)
    except (DecodeError, json_format.ParseError, text_format.ParseError, UnicodeDecodeError) as error:
        print(f"{path}: not a TFMD {message.DESCRIPTOR.name}: {error}", file=sys.stderr)
        return 2
    strays = unknown(message)
    if strays:
        print(f"{path}: fields TFMD does not define at {', '.join(strays)}", file=sys.stderr)
        return 2
    print(json.dumps(json_format.MessageToDict(message, preserving_proto_field_name=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
