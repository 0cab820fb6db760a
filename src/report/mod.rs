//! Reports of a run for people: the HTML page (space-time diagram, plots, fault table).
//! [`run_with_report`] runs a scenario and returns the page with the run's report.

pub(crate) mod html;

pub use html::{HtmlReport, Window, WindowError, run_with_report};
