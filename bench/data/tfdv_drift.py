"""TFDV's drift figures on the two halves of the 15k taxi file, for comparison with mlops.

    python3 bench/data/tfdv_drift.py        # with TFDV 1.16.1 (../shared/bench/setup_peers.sh)

Writes the halves (rows in file order: the first 7,501 rows, then the rest) to a scratch
folder, computes statistics with TFDV, sets an L-infinity threshold on payment_type and a
Jensen-Shannon threshold on fare, and prints TFDV's drift measurements.
"""
import os, sys, tempfile
import tensorflow_data_validation as tfdv

here = os.path.dirname(os.path.abspath(__file__))
source = os.path.join(here, "..", "..", "templates", "taxi", "data", "data.csv")
lines = [line for line in open(source).read().split("\n") if line]
half = (len(lines) - 1) // 2
scratch = tempfile.mkdtemp(prefix="tfdv-drift-")
paths = []
for name, rows in (("a.csv", lines[1:half + 1]), ("b.csv", lines[half + 1:])):
    path = os.path.join(scratch, name)
    with open(path, "w") as out:
        out.write("\n".join([lines[0]] + rows) + "\n")
    paths.append(path)
first, second = (tfdv.generate_statistics_from_csv(p) for p in paths)
schema = tfdv.infer_schema(first)
tfdv.get_feature(schema, "payment_type").drift_comparator.infinity_norm.threshold = 0.01
tfdv.get_feature(schema, "fare").drift_comparator.jensen_shannon_divergence.threshold = 0.01
anomalies = tfdv.validate_statistics(second, schema, previous_statistics=first)
for info in anomalies.drift_skew_info:
    for measurement in info.drift_measurements:
        print(info.path.step[0], measurement.type, measurement.value, file=sys.stdout)
