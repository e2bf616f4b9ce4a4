"""The bootstrap project (`bootstrap/Pulumi.yaml`): what the platform's stacks need before they can exist."""
