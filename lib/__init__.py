"""Pure builders shared by the components: no Pulumi resources are created here, so everything is unit-testable
without the Pulumi runtime (IAM documents, trust policies, Kubernetes metadata, the tagging transformation)."""
