//! kubectl's JSONPath templates (`-o jsonpath=…`) and `-o custom-columns=…` (being written).
