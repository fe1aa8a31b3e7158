//! Which inputs belong to one stream: the files of a rotated set share an
//! engine (an attack that spans a rotation is still one window), other logs
//! get their own.

use secmo_parse::read::InputSpec;

/// Indices of `inputs` grouped by rotated set, in first-appearance order;
/// within a group the inputs keep their (oldest-first) order.
pub fn group_streams(inputs: &[InputSpec]) -> Vec<Vec<usize>> {
    let mut groups: Vec<(_, Vec<usize>)> = Vec::new();
    for (i, spec) in inputs.iter().enumerate() {
        let key = spec.rotated_set();
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.push(i),
            None => groups.push((key, vec![i])),
        }
    }
    groups.into_iter().map(|(_, g)| g).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_files_share_a_stream() {
        let specs: Vec<InputSpec> = [
            "/var/log/nginx/access.log.2.gz",
            "/var/log/nginx/access.log.1",
            "/var/log/auth.log",
            "/var/log/nginx/access.log",
            "/srv/other/access.log",
        ]
        .into_iter()
        .map(InputSpec::file)
        .collect();
        assert_eq!(group_streams(&specs), vec![vec![0, 1, 3], vec![2], vec![4]]);
    }
}
