"""The CrossGuard policy pack (see `policy/rules`); importable as `policy.rules` by the gate and the tests."""
