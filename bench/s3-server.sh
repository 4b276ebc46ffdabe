# Sourced by the bench scripts that use S3: starts moto's S3 server (Tests/Tools/s3-server.py,
# signatures enforced) on 127.0.0.1 with `s3_python` (a python with moto[server] and boto3),
# exports the AWS variables that point mlops at it, creates the buckets in `s3_buckets`, and
# stops the server when the script exits. Needs `root` and `work` set.
s3_pid="$work/s3.pid"
s3_stop() { if [ -s "$s3_pid" ]; then kill "$(cat "$s3_pid")" 2>/dev/null || true; rm -f "$s3_pid"; fi; }
trap s3_stop EXIT
eval "$("$s3_python" "$root/Tests/Tools/s3-server.py" "$s3_pid")"
export AWS_ACCESS_KEY_ID="$MLOPS_TEST_S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$MLOPS_TEST_S3_SECRET"
export AWS_ENDPOINT_URL="$MLOPS_TEST_S3_ENDPOINT" AWS_REGION=us-east-1
"$s3_python" -c "import boto3, sys; s3 = boto3.client('s3', region_name='us-east-1'); [s3.create_bucket(Bucket=b) for b in sys.argv[1:]]" $s3_buckets
