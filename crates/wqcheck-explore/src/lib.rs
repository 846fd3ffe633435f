//! wqcheck-explore
