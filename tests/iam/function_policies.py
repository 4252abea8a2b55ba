"""The IAM policies each function's role gets once SAM has transformed template.yaml, with every intrinsic resolved
the way the recorded calls name their resources: account 123456789012, region us-east-1, a resource's Ref is its
logical id, a parameter's Ref is a value named after the parameter. Prints JSON:
{"PortalFunction": {"role": "PortalFunctionRole", "policies": [{"name": ..., "document": ...}], "managedPolicyArns": [...]}}
"""

import json
import os
import re
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

ACCOUNT = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"
PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": PARTITION,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "monetization",
}

# Parameters whose value is an ARN resolve to an ARN named after the parameter; the recorded calls are rewritten
# to the same names (tests/Monetization.Emulators/Recording).
PARAMETERS = {
    "StripeSecretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:StripeSecretArn",
    "MarketplaceProductCode": "prodseller42",
}

ARNS = {
    "AWS::DynamoDB::Table": lambda name: f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
    "AWS::SQS::Queue": lambda name: f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
    "AWS::IAM::Role": lambda name: f"arn:aws:iam::{ACCOUNT}:role/{name}",
}


class _NoManagedPolicies:
    """The template names managed policies by ARN only, so SAM never has to look one up."""

    def load(self):
        return {}


def transformed(template_path):
    with open(template_path, encoding="utf-8") as source:
        template = yaml_parse(source.read())
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            # SAM insists on an S3 location; the code is irrelevant to the policies.
            resource["Properties"]["CodeUri"] = "s3://bucket/code.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    return transform(template, dict(PARAMETERS), _NoManagedPolicies())


def resolve(value, resources):
    if isinstance(value, list):
        return [resolve(item, resources) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (key, argument), = value.items()
        if key == "Ref":
            return ref(argument, resources)
        if key == "Fn::GetAtt":
            name, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            if attribute != "Arn":
                raise ValueError(f"cannot resolve Fn::GetAtt {name}.{attribute}")
            return ARNS[resources[name]["Type"]](name)
        if key == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            variables = {k: resolve(v, resources) for k, v in variables.items()}
            return re.sub(r"\$\{([^}]+)\}", lambda m: variables.get(m.group(1)) or sub_variable(m.group(1), resources), text)
        if key == "Fn::Join":
            separator, items = argument
            return separator.join(resolve(items, resources))
        if key.startswith("Fn::"):
            raise ValueError(f"cannot resolve {key}")
    return {k: resolve(v, resources) for k, v in value.items()}


def ref(name, resources):
    if name in PSEUDO:
        return PSEUDO[name]
    if name in PARAMETERS:
        return PARAMETERS[name]
    if name in resources:
        return name
    raise ValueError(f"cannot resolve Ref {name}")


def sub_variable(name, resources):
    if "." in name:
        return resolve({"Fn::GetAtt": name.split(".", 1)}, resources)
    return ref(name, resources)


def function_policies(template):
    resources = template["Resources"]
    functions = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        role = resource["Properties"]["Role"]["Fn::GetAtt"][0]
        properties = resources[role]["Properties"]
        functions[logical_id] = {
            "role": role,
            "policies": [
                {"name": p["PolicyName"], "document": resolve(p["PolicyDocument"], resources)}
                for p in properties.get("Policies", [])
            ],
            "managedPolicyArns": resolve(properties.get("ManagedPolicyArns", []), resources),
        }
    return functions


def main(argv):
    template_path = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "template.yaml")
    json.dump(function_policies(transformed(template_path)), sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv)
