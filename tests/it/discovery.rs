//! Discovery tests (to come).
