//! Reports of a run for people: the HTML page (space-time diagram, plots, fault table),
//! and the linearizability page and counterexample section ([`linearizability_page`],
//! [`counterexample_section`]).
//! [`run_with_report`] runs a scenario and returns the page with the run's report.

pub(crate) mod html;

pub use html::{HtmlReport, Window, WindowError, counterexample_section, linearizability_page, run_with_report};
