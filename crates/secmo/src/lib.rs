//! The secmo library side of the binary: report renderers shared by the commands.

pub mod output;
