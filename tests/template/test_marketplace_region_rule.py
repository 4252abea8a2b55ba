"""Evaluates template.yaml's Rules the way CloudFormation does, for the Marketplace region assertion."""
import pathlib
import unittest

from cfnlint.decode import decode

TEMPLATE = pathlib.Path(__file__).resolve().parents[2] / "template.yaml"


def evaluate(node, params):
    if isinstance(node, str):
        return node
    (fn, arg), = node.items()
    if fn == "Ref":
        return params[arg]
    if fn == "Fn::Equals":
        return evaluate(arg[0], params) == evaluate(arg[1], params)
    if fn == "Fn::Not":
        return not evaluate(arg[0], params)
    raise AssertionError(f"unsupported rule function {fn}")


def failed_assertions(params):
    template, matches = decode(str(TEMPLATE))
    assert not matches, matches
    failures = []
    for rule in template.get("Rules", {}).values():
        if "RuleCondition" in rule and not evaluate(rule["RuleCondition"], params):
            continue
        failures += [a["AssertDescription"] for a in rule["Assertions"] if not evaluate(a["Assert"], params)]
    return failures


class MarketplaceRegionRule(unittest.TestCase):
    def test_a_marketplace_stack_outside_us_east_1_is_refused_with_the_reason(self):
        failures = failed_assertions({"MarketplaceProductCode": "prod-abc", "AWS::Region": "eu-west-1"})
        self.assertEqual(1, len(failures))
        self.assertIn("us-east-1", failures[0])

    def test_a_marketplace_stack_in_us_east_1_is_accepted(self):
        self.assertEqual([], failed_assertions({"MarketplaceProductCode": "prod-abc", "AWS::Region": "us-east-1"}))

    def test_a_stripe_only_stack_deploys_in_any_region(self):
        self.assertEqual([], failed_assertions({"MarketplaceProductCode": "", "AWS::Region": "eu-west-1"}))


if __name__ == "__main__":
    unittest.main()
