"""Starts moto's S3 server on 127.0.0.1 with request signatures enforced, for the S3 tests.

    python s3-server.py PIDFILE     # prints `export MLOPS_TEST_S3_...=...` lines

moto checks signatures once INITIAL_NO_AUTH_ACTION_COUNT unauthenticated calls are spent:
three IAM calls make a user, give it every S3 (and IAM) action and an access key (moto makes
the key; it cannot be chosen); that user then makes a second one that may only read. Every later request must be signed with that key. .ci/run evaluates
the output and stops the server by the PID in PIDFILE when it ends.
"""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import boto3

pid_file = sys.argv[1]
with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
endpoint = f"http://127.0.0.1:{port}"
server = os.path.join(os.path.dirname(sys.executable), "moto_server")
env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="3")
log = open(pid_file + ".log", "w")
process = subprocess.Popen([server, "-H", "127.0.0.1", "-p", str(port)], env=env, stdout=log, stderr=log)
with open(pid_file, "w") as handle:
    handle.write(str(process.pid))
for _ in range(300):
    try:
        urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
        break
    except Exception:
        time.sleep(0.05)
else:
    sys.exit(f"moto_server did not start on {endpoint}; see {pid_file}.log")
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam.create_user(UserName="mlops-tests")
iam.put_user_policy(UserName="mlops-tests", PolicyName="s3", PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:*", "iam:*"], "Resource": "*"}]}))
key = iam.create_access_key(UserName="mlops-tests")["AccessKey"]
# A second user that may only read (no PutObject): the "no permission" tests. Made with the
# first user's key, since the unchecked calls are spent.
admin = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                     aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
admin.create_user(UserName="mlops-tests-reader")
admin.put_user_policy(UserName="mlops-tests-reader", PolicyName="read", PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*", "s3:Head*"],
                   "Resource": "*"}]}))
reader = admin.create_access_key(UserName="mlops-tests-reader")["AccessKey"]
print(f"export MLOPS_TEST_S3_ENDPOINT={endpoint}")
print(f"export MLOPS_TEST_S3_ACCESS_KEY={key['AccessKeyId']}")
print(f"export MLOPS_TEST_S3_SECRET={key['SecretAccessKey']}")
print(f"export MLOPS_TEST_S3_READER_KEY={reader['AccessKeyId']}")
print(f"export MLOPS_TEST_S3_READER_SECRET={reader['SecretAccessKey']}")
