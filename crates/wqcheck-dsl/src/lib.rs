//! wqcheck-dsl
