//! wqcheck-report
