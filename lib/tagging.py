"""The one mechanism that tags AWS resources: a transformation on the platform component, inherited by every child.

Each taggable AWS resource (any `pulumi_aws` / `pulumi_eks` resource whose constructor takes `tags`) gets the
stack-wide mandatory tags (project, stack, environment, managed-by, plus the stack's own owner/cost-center) and a
`component` tag naming the platform component that declared it. Tags a resource sets itself are kept, but can
never override a mandatory key. Because it works on inputs, the tags are visible in the offline plan, to the
policy pack, and in `pulumi preview`.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Mapping

import pulumi

TAGGED_PACKAGES = ("pulumi_aws.", "pulumi_eks.")


@functools.cache
def is_taggable(resource_class: type) -> bool:
    """True when the resource's constructor accepts `tags` (an AWS resource that supports tagging)."""
    if not resource_class.__module__.startswith(TAGGED_PACKAGES):
        return False
    # Generated resources hide their keyword arguments behind overloads of `__init__`; `_internal_init` names them.
    constructor = getattr(resource_class, "_internal_init", None) or resource_class
    return "tags" in inspect.signature(constructor).parameters


def component_tags(stack_tags: Mapping[str, str], component: str) -> dict[str, str]:
    """The full mandatory tag set of one component: the stack's tags plus `component`. Also for AWS resources that
    controllers create outside Pulumi (node instances, the ALB), which get them through launch templates, chart
    values or annotations."""
    return {**stack_tags, "component": component}


def merge_tags(own: Mapping[str, str] | None, mandatory: Mapping[str, str]) -> dict[str, str]:
    """A resource's own tags plus the mandatory ones; the mandatory keys always win."""
    return {**(own or {}), **mandatory}


def _tag_access_entries(entries: object, mandatory: Mapping[str, str]) -> object:
    """pulumi-eks tags each EKS access entry only with that entry's own `tags`, never the cluster's: tag them here."""
    if not isinstance(entries, Mapping):
        return entries
    tagged = {}
    for key, entry in entries.items():
        if isinstance(entry, Mapping):
            entry = {**entry, "tags": merge_tags(entry.get("tags"), mandatory)}
        elif hasattr(entry, "tags"):
            entry = copy.copy(entry)
            entry.tags = merge_tags(entry.tags, mandatory)
        tagged[key] = entry
    return tagged


def tagging_transformation(stack_tags: Mapping[str, str]) -> pulumi.ResourceTransformation:
    """A transformation adding `stack_tags` and the declaring component's `component` tag to taggable resources."""
    stack_tags = dict(stack_tags)

    def transform(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        resource_class: type = type(args.resource)  # as `type`: mypy takes type[Resource] for unhashable
        if not is_taggable(resource_class):
            return None
        component = getattr(args.opts.parent, "area", None) or "platform"
        mandatory = component_tags(stack_tags, component)
        own = args.props.get("tags")
        tags: pulumi.Input[Mapping[str, str]]
        if own is None or isinstance(own, Mapping):
            tags = merge_tags(own, mandatory)
        else:  # an Output (or another awaitable): merge once it resolves
            tags = pulumi.Output.from_input(own).apply(lambda value: merge_tags(value, mandatory))
        props = {**args.props, "tags": tags}
        if "access_entries" in props:  # pulumi_eks.Cluster: its access entries are AWS resources of their own
            props["access_entries"] = _tag_access_entries(props["access_entries"], mandatory)
        return pulumi.ResourceTransformationResult(props, args.opts)

    return transform
