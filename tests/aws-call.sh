#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The generic signed AWS call (src/aws.c) against sesd, which checks every
# signature with botocore: JSON 1.0 protocol with X-Amz-Target (SQS), REST
# GET with a query, PUT, DELETE with an encoded path (SESv2 suppression
# list), error parsing of the three protocols, retries, keep-alive.
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/sesd/lib.sh"
sesd_need
tmpdir_make
sesd_start; ok $? "sesd starts"
sesd_relay_conf "$T/c.conf"
CALL="$top_builddir/tests/aws-call -c $T/c.conf -e $SESD_URL"

# SQS style: JSON 1.0, X-Amz-Target, service sqs, another region
out=$($CALL -s sqs -r eu-west-1 -p /_echo/ -T application/x-amz-json-1.0 \
      -t AmazonSQS.ReceiveMessage -d '{"QueueUrl":"q","WaitTimeSeconds":1}' 2>&1)
is "$?" 0 "an SQS-style JSON call is accepted (signature checked by botocore)"
like "$out" '"x-amz-target": "AmazonSQS.ReceiveMessage"' "X-Amz-Target arrives"
like "$out" '"akid": "AKIDEXAMPLETESTKEY01"' "the request was signed with the configured key"
is "$(sesd_py 'req[-1]["headers"]["authorization"].split("Credential=")[1].split("/")[2:4]')" \
   "['eu-west-1', 'sqs']" "the credential scope names the region and service sqs"

# SESv2 suppression list style: GET with a query, PUT, DELETE with an
# encoded address in the path
out=$($CALL -m GET -p /_echo/v2/email/suppression/addresses \
      -q 'PageSize=100&NextToken=a%2Bb%3D%3D&Reasons=BOUNCE&Reasons=COMPLAINT' 2>&1)
is "$?" 0 "a signed GET with a query string is accepted"
like "$out" '"NextToken": \["a\+b=="\]' "the query arrives decoded as sent"
out=$($CALL -m PUT -p /_echo/v2/email/suppression/addresses -T application/json \
      -d '{"EmailAddress":"x@example.com","Reason":"BOUNCE"}' 2>&1)
is "$?" 0 "a signed PUT with a JSON body is accepted"
like "$out" '"method": "PUT"' "the method is PUT"
out=$($CALL -m DELETE -p '/_echo/v2/email/suppression/addresses/a%2Bb%40example.com' 2>&1)
is "$?" 0 "a signed DELETE with a percent-encoded path is accepted"
is "$(sesd_py 'req[-1]["headers"].get("content-type", "none")')" "none" \
   "a DELETE without a body sends no Content-Type"
out=$($CALL -m GET -p /_echo/ -H 'X-Custom:   spaced    value  ' 2>&1)
is "$?" 0 "an extra signed header with odd whitespace is accepted"

# error answers of every protocol, classified
sesd_fault '{"route":"echo","status":400,"error":"QueueDoesNotExist","message":"The specified queue does not exist.","protocol":"json-type"}'
out=$($CALL -p /_echo/ -T application/x-amz-json-1.0 -d '{}' 2>&1)
like "$out" "status=unrecognised-answer http=400 attempts=1 error=QueueDoesNotExist" \
     "a JSON 1.0 __type error is parsed and unknown codes are not retried"
sesd_fault '{"route":"echo","status":400,"error":"Throttling","message":"Rate exceeded","protocol":"xml"}'
out=$($CALL -R 5000 -p /_echo/ -d 'Action=X' -T application/x-www-form-urlencoded 2>&1)
like "$out" "status=ok http=200 attempts=2" "a query-protocol XML Throttling error is retried"
sesd_fault '{"route":"echo","count":2,"status":503,"error":"ServiceUnavailable"}'
out=$($CALL -R 10000 -m GET -p /_echo/ 2>&1)
like "$out" "status=ok http=200 attempts=3" "two 503s then success: three attempts"
sesd_fault '{"route":"echo","count":-1,"status":500,"error":"InternalFailure"}'
out=$($CALL -R 600 -m GET -p /_echo/ 2>&1); rc=$?
is "$rc" 1 "500s beyond the retry budget fail the call"
like "$out" "status=server-error http=500" "the last status is the server error"
like "$out" "aws-call: TEST 500 InternalFailure" "the diagnostic names the service, code and status"
sesd_reset
sesd_fault '{"route":"echo","count":1,"reset":true}'
out=$($CALL -R 5000 -m GET -p /_echo/ 2>&1)
like "$out" "status=ok http=200 attempts=2" "a reset connection is retried"

# unsigned (STS web identity) and a wrong key
out=$($CALL -S -m GET -p /_echo/ 2>&1)
like "$out" "status=auth-failure http=403 attempts=1 error=IncompleteSignature" \
     "an unsigned request to a signed route is refused as an auth failure"
out=$(AWS_ACCESS_KEY_ID=AKIDWRONGWRONGWRONG AWS_SECRET_ACCESS_KEY=wrongsecretwrongsecret \
      $CALL -R 5000 -m GET -p /_echo/ 2>&1)
like "$out" "status=auth-failure http=403 attempts=1 error=UnrecognizedClientException" \
     "an unknown key is an auth failure, not retried when the credentials stay the same"

# keep-alive: several calls on one handle use one connection
sesd_reset
out=$($CALL -n 5 -m GET -p /_echo/ 2>&1)
is "$(printf '%s\n' "$out" | grep -c 'status=ok')" 5 "five calls on one handle succeed"
is "$(sesd_py 'len(set(r["conn"] for r in req))')" 1 \
   "the five calls share one keep-alive connection"

tap_done
