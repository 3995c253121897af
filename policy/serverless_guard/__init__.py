"""The serverless-patterns guardrails: CrossGuard policies for Lambda, SQS, SNS, DynamoDB, Step Functions,
EventBridge Scheduler, IAM, KMS, CloudWatch and the AWS provider.

Each rule is a plain function over resources (:mod:`serverless_guard.model`), so it can be read and tested without
the Pulumi engine; :mod:`serverless_guard.pack` adapts every rule to a ``pulumi_policy`` policy.
"""
