"""Compares mlops' hand-written .proto definitions (Protos/, compiled into descriptors.pb by
scripts/protos.sh) with the published ones, as the real packages carry them:

    proto_check.py DESCRIPTORS.pb tfmd   against tensorflow-metadata's tensorflow.metadata.v0
    proto_check.py DESCRIPTORS.pb oip    against tritonclient's inference.GRPCInferenceService

For every message and enum mlops declares: the same fields (name, number, type, label, the
message or enum type they refer to, oneof) and values, none missing and none extra; for the
service, every RPC with the same request and response types. Prints the differences and exits
1 when there are any.
"""
import sys

from google.protobuf import descriptor_pb2, descriptor_pool


def label(field):
    """A field's label (protobuf 6 deprecates `label` for is_repeated/is_required)."""
    if hasattr(field, "is_repeated"):
        return 3 if field.is_repeated else 2 if field.is_required else 1
    return field.label


def load_reference(kind):
    if kind == "tfmd":
        from tensorflow_metadata.proto.v0 import anomalies_pb2, path_pb2, schema_pb2, statistics_pb2  # noqa: F401

        return "tensorflow.metadata.v0"
    from tritonclient.grpc import service_pb2  # noqa: F401

    return "inference"


def main():
    path, kind = sys.argv[1], sys.argv[2]
    package = load_reference(kind)
    pool = descriptor_pool.Default()
    files = descriptor_pb2.FileDescriptorSet()
    with open(path, "rb") as handle:
        files.ParseFromString(handle.read())
    problems = []
    checked = 0

    def compare_enum(ours, full):
        nonlocal checked
        theirs = pool.FindEnumTypeByName(full)
        mine = {value.name: value.number for value in ours.value}
        real = {value.name: value.number for value in theirs.values}
        if mine != real:
            problems.append(f"enum {full}: ours {sorted(set(mine.items()) ^ set(real.items()))} differ")
        checked += 1

    def compare_message(ours, full):
        nonlocal checked
        if ours.options.map_entry:
            return
        try:
            theirs = pool.FindMessageTypeByName(full)
        except KeyError:
            problems.append(f"message {full} is not in the published definition")
            return
        real = {field.number: field for field in theirs.fields}
        for field in ours.field:
            other = real.pop(field.number, None)
            if other is None:
                problems.append(f"{full}.{field.name} = {field.number}: no such field number")
                continue
            refers = field.type_name.lstrip(".")
            other_refers = (other.message_type or other.enum_type).full_name if (other.message_type or other.enum_type) else ""
            oneof = ours.oneof_decl[field.oneof_index].name if field.HasField("oneof_index") else ""
            other_oneof = other.containing_oneof.name if other.containing_oneof else ""
            if (field.name, field.type, field.label, refers, oneof) != (
                other.name, other.type, label(other), other_refers, other_oneof
            ):
                problems.append(
                    f"{full}.{field.name} = {field.number}: ours {(field.name, field.type, field.label, refers, oneof)}, "
                    f"published {(other.name, other.type, label(other), other_refers, other_oneof)}"
                )
        for number, field in sorted(real.items()):
            problems.append(f"{full}: the published {field.name} = {number} is missing")
        for nested in ours.nested_type:
            compare_message(nested, f"{full}.{nested.name}")
        for nested in ours.enum_type:
            compare_enum(nested, f"{full}.{nested.name}")
        checked += 1

    for file in files.file:
        if file.package != package:
            continue
        for message in file.message_type:
            compare_message(message, f"{package}.{message.name}")
        for enum in file.enum_type:
            compare_enum(enum, f"{package}.{enum.name}")
        for service in file.service:
            theirs = pool.FindServiceByName(f"{package}.{service.name}")
            for method in service.method:
                other = theirs.methods_by_name.get(method.name)
                if other is None or (method.input_type.lstrip("."), method.output_type.lstrip(".")) != (
                    other.input_type.full_name, other.output_type.full_name
                ):
                    problems.append(f"rpc {service.name}.{method.name} differs")
                checked += 1
    for problem in problems:
        print(problem)
    print(f"{checked} definitions compared, {len(problems)} differences")
    return 1 if problems or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
