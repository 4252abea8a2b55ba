"""The IAM policies each function's role gets once SAM has transformed template.yaml, with every intrinsic resolved
the way the recorded calls name their resources: account 123456789012, region us-east-1, a resource's Ref is its
logical id, a parameter's Ref is a value named after the parameter, and a condition holds as those values (or the
parameters' defaults) make it. Prints JSON:
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
    # The tests' sender and configuration set are recorded under these names (tests/Monetization.Emulators/Recording).
    "EmailSenderAddress": "EmailSenderAddress",
    "EmailConfigurationSet": "EmailConfigurationSet",
}

# Fn::If's third branch, and what a list drops.
NO_VALUE = object()

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


def resolve(value, resources, conditions=None):
    if isinstance(value, list):
        return [item for item in (resolve(item, resources, conditions) for item in value) if item is not NO_VALUE]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (key, argument), = value.items()
        if key == "Ref":
            return NO_VALUE if argument == "AWS::NoValue" else ref(argument, resources)
        if key == "Fn::If":
            name, when_true, when_false = argument
            return resolve(when_true if holds(name, conditions) else when_false, resources, conditions)
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
    return {k: v for k, v in ((k, resolve(v, resources, conditions)) for k, v in value.items()) if v is not NO_VALUE}


def holds(name, conditions):
    """Evaluates the template condition `name` (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition) with PARAMETERS."""
    if conditions is None or name not in conditions["definitions"]:
        raise ValueError(f"cannot evaluate condition {name}")

    def value(node):
        if isinstance(node, dict) and list(node) == ["Ref"]:
            parameter = node["Ref"]
            if parameter in PARAMETERS:
                return PARAMETERS[parameter]
            if parameter in PSEUDO:
                return PSEUDO[parameter]
            return str(conditions["defaults"][parameter])
        return node

    def evaluate(node):
        (key, argument), = node.items()
        if key == "Fn::Equals":
            return value(argument[0]) == value(argument[1])
        if key == "Fn::Not":
            return not evaluate(argument[0])
        if key == "Fn::And":
            return all(evaluate(a) for a in argument)
        if key == "Fn::Or":
            return any(evaluate(a) for a in argument)
        if key == "Condition":
            return holds(argument, conditions)
        raise ValueError(f"cannot evaluate {key} in condition {name}")

    return evaluate(conditions["definitions"][name])


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
    conditions = {
        "definitions": template.get("Conditions", {}),
        "defaults": {name: p.get("Default", "") for name, p in template.get("Parameters", {}).items()},
    }
    functions = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        role = resource["Properties"]["Role"]["Fn::GetAtt"][0]
        properties = resources[role]["Properties"]
        functions[logical_id] = {
            "role": role,
            "policies": [
                {"name": p["PolicyName"], "document": resolve(p["PolicyDocument"], resources, conditions)}
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
