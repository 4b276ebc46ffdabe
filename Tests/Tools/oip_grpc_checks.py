"""Speaks to `mlops serve --grpc-port` with Triton's own generated gRPC stubs (tritonclient's
service_pb2), beyond what tritonclient.grpc's defaults send: typed `contents` instead of raw
bytes, the health and metadata RPCs, and requests the server must refuse. Prints a JSON report.

    oip_grpc_checks.py HOST:PORT MODEL ROWS.csv
"""
import csv
import json
import struct
import sys

import grpc
from tritonclient.grpc import service_pb2, service_pb2_grpc


def main():
    url, model, rows_file = sys.argv[1:4]
    stub = service_pb2_grpc.GRPCInferenceServiceStub(grpc.insecure_channel(url))
    report = {
        "live": stub.ServerLive(service_pb2.ServerLiveRequest()).live,
        "ready": stub.ServerReady(service_pb2.ServerReadyRequest()).ready,
        "model_ready": stub.ModelReady(service_pb2.ModelReadyRequest(name=model)).ready,
        "server": stub.ServerMetadata(service_pb2.ServerMetadataRequest()).name,
    }
    metadata = stub.ModelMetadata(service_pb2.ModelMetadataRequest(name=model))
    report["platform"] = metadata.platform
    report["outputs"] = [output.name for output in metadata.outputs]
    with open(rows_file, newline="") as handle:
        rows = list(csv.DictReader(handle))

    def typed(skip=None):
        request = service_pb2.ModelInferRequest(model_name=model, id="typed")
        for tensor in metadata.inputs:
            if tensor.name == skip:
                continue
            item = request.inputs.add(name=tensor.name, shape=[len(rows)])
            values = [row[tensor.name] for row in rows]
            if tensor.datatype == "BYTES":
                item.datatype = "BYTES"
                item.contents.bytes_contents.extend(value.encode() for value in values)
            else:
                item.datatype = "FP64"
                item.contents.fp64_contents.extend(float(value) if value != "" else float("nan") for value in values)
        return request

    answer = stub.ModelInfer(typed())
    report["typed_id"] = answer.id
    report["typed_raw_outputs"] = len(answer.raw_output_contents)
    for output in answer.outputs:
        if output.name == "probabilities":
            report["typed_probabilities"] = list(output.contents.fp32_contents)
        if output.name == "predicted_class":
            report["typed_classes"] = list(output.contents.int64_contents)

    def refused(request):
        try:
            stub.ModelInfer(request)
            return None
        except grpc.RpcError as error:
            return [error.code().name, error.details()]

    refusals = {}
    refusals["missing_input"] = refused(typed(skip=metadata.inputs[0].name))
    wrong_model = typed()
    wrong_model.model_name = "nope"
    refusals["wrong_model"] = refused(wrong_model)
    raw_count = typed()
    for item in raw_count.inputs:
        item.ClearField("contents")
    raw_count.raw_input_contents.append(b"\x00" * 8)
    refusals["raw_count"] = refused(raw_count)
    truncated = typed()
    for index, item in enumerate(truncated.inputs):
        item.ClearField("contents")
        if item.datatype == "BYTES":
            truncated.raw_input_contents.append(struct.pack("<I", 50) + b"abc")
        else:
            truncated.raw_input_contents.append(struct.pack("<d", 1.0) * len(rows))
    refusals["truncated_bytes"] = refused(truncated)
    unknown_output = typed()
    unknown_output.outputs.add(name="margin")
    refusals["unknown_output"] = refused(unknown_output)
    report["refusals"] = refusals
    print(json.dumps(report))


if __name__ == "__main__":
    main()
