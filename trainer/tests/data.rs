//! Reading MNIST-style dataset folders, and downloading them from a local HTTP server, so that
//! nothing here needs the network or the real data.

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use trainer::data::download::fetch_from;
use trainer::data::{
    FILE_NAMES, KnownDataset, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS, load_dir,
    read_images, read_labels, write_images_gz, write_labels_gz, write_synthetic,
};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// An IDX header: the magic number, then one size per dimension, all big-endian u32.
fn idx_header(magic: u32, sizes: &[u32]) -> Vec<u8> {
    std::iter::once(magic)
        .chain(sizes.iter().copied())
        .flat_map(u32::to_be_bytes)
        .collect()
}

fn error_of<T: std::fmt::Debug>(result: anyhow::Result<T>) -> String {
    format!("{:#}", result.unwrap_err())
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn sorted_canonical_names() -> Vec<String> {
    let mut names: Vec<String> = FILE_NAMES.iter().map(|name| name.to_string()).collect();
    names.sort();
    names
}

fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

#[test]
fn synthetic_dataset_loads_with_its_folder_name_and_shapes() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("mnist");
    write_synthetic(&dir, 30, 12, 7).unwrap();
    let dataset = load_dir(&dir).unwrap();

    assert_eq!(dataset.name, "mnist");
    for (split, count) in [(&dataset.train, 30), (&dataset.test, 12)] {
        let images = &split.images;
        assert_eq!((images.count, images.rows, images.cols), (count, 28, 28));
        assert_eq!(
            split.labels,
            (0..count).map(|i| (i % 10) as u8).collect::<Vec<_>>()
        );
        assert_eq!(images.as_array().dim(), (count, 784));
        for i in 0..count {
            let image = images.image(i);
            assert_eq!(image, images.as_array().row(i).as_slice().unwrap());
            assert!(image.iter().all(|&pixel| pixel == 0.0 || pixel == 1.0));
            let inked = image.iter().filter(|&&pixel| pixel == 1.0).count();
            assert!(
                (10..400).contains(&inked),
                "image {i} has {inked} inked pixels"
            );
        }
    }
}

#[test]
fn synthetic_dataset_depends_only_on_the_seed() {
    let root = tempfile::tempdir().unwrap();
    let bytes_of = |name: &str, seed: u64| {
        let dir = root.path().join(format!("{name}-{seed}"));
        write_synthetic(&dir, 20, 10, seed).unwrap();
        FILE_NAMES.map(|file| fs::read(dir.join(file)).unwrap())
    };
    assert_eq!(bytes_of("a", 1), bytes_of("b", 1));
    assert_ne!(bytes_of("a", 1)[0], bytes_of("a", 2)[0]);
}

#[test]
fn images_and_labels_round_trip_with_pixels_scaled_to_unit_range() {
    let dir = tempfile::tempdir().unwrap();
    let images_path = dir.path().join("images.gz");
    let labels_path = dir.path().join("labels.gz");
    let bytes = [0, 51, 102, 153, 204, 255, 1, 2, 3, 4, 5, 6];
    write_images_gz(&images_path, 2, 2, 3, &bytes).unwrap();
    write_labels_gz(&labels_path, &[3, 9]).unwrap();

    let images = read_images(&images_path).unwrap();
    assert_eq!(
        (
            images.count,
            images.rows,
            images.cols,
            images.pixels_per_image()
        ),
        (2, 2, 3, 6)
    );
    let expected: Vec<f32> = bytes.iter().map(|&byte| f32::from(byte) / 255.0).collect();
    assert_eq!(images.pixels, expected);
    assert_eq!(images.image(1), &expected[6..]);
    assert_eq!(read_labels(&labels_path).unwrap(), [3, 9]);
}

#[test]
fn uncompressed_idx_files_are_accepted_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("labels");
    let mut bytes = idx_header(0x0801, &[3]);
    bytes.extend([7, 8, 9]);
    fs::write(&path, bytes).unwrap();
    assert_eq!(read_labels(&path).unwrap(), [7, 8, 9]);
}

#[test]
fn a_labels_file_read_as_images_is_called_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(TRAIN_IMAGES);
    write_labels_gz(&path, &[1, 2, 3]).unwrap();
    let error = error_of(read_images(&path));
    assert!(error.contains(TRAIN_IMAGES), "{error}");
    assert!(
        error.contains("0x00000801") && error.contains("0x00000803"),
        "{error}"
    );
    assert!(error.contains("looks like an IDX labels file"), "{error}");
}

#[test]
fn an_unknown_magic_number_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    fs::write(&path, "these are not the pixels you are looking for").unwrap();
    let error = error_of(read_images(&path));
    assert!(
        error.contains("notes.txt") && error.contains("not an MNIST-style IDX file"),
        "{error}"
    );
}

#[test]
fn truncated_pixels_report_expected_and_found_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("short.gz");
    let mut bytes = idx_header(0x0803, &[2, 2, 2]);
    bytes.extend([0; 5]);
    fs::write(&path, gzip(&bytes)).unwrap();
    let error = error_of(read_images(&path));
    assert!(error.contains("short.gz is truncated"), "{error}");
    assert!(
        error.contains("8 bytes") && error.contains("only 5"),
        "{error}"
    );
}

#[test]
fn a_truncated_gzip_stream_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.gz");
    write_synthetic(dir.path(), 10, 10, 1).unwrap();
    let whole = fs::read(dir.path().join(TRAIN_IMAGES)).unwrap();
    fs::write(&path, &whole[..whole.len() / 2]).unwrap();
    let error = error_of(read_images(&path));
    assert!(error.contains("cut.gz is not a valid gzip file"), "{error}");
}

#[test]
fn trailing_bytes_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.gz");
    let mut bytes = idx_header(0x0803, &[1, 1, 1]);
    bytes.extend([0; 3]);
    fs::write(&path, gzip(&bytes)).unwrap();
    let error = error_of(read_images(&path));
    assert!(error.contains("2 unexpected bytes"), "{error}");
}

#[test]
fn garbage_after_the_gzip_stream_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("labels.gz");
    write_labels_gz(&path, &[1, 2]).unwrap();
    let mut bytes = fs::read(&path).unwrap();
    bytes.extend(b"junk");
    fs::write(&path, bytes).unwrap();
    assert!(error_of(read_labels(&path)).contains("not a valid gzip file"));
}

#[test]
fn zero_sized_dimensions_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flat.gz");
    fs::write(&path, gzip(&idx_header(0x0803, &[3, 0, 28]))).unwrap();
    let error = error_of(read_images(&path));
    assert!(
        error.contains("flat.gz") && error.contains("empty"),
        "{error}"
    );
}

#[test]
fn mismatched_image_and_label_counts_name_both_files() {
    let dir = tempfile::tempdir().unwrap();
    write_synthetic(dir.path(), 20, 10, 3).unwrap();
    write_labels_gz(&dir.path().join(TRAIN_LABELS), &[0; 19]).unwrap();
    let error = error_of(load_dir(dir.path()));
    assert!(
        error.contains(&format!("{TRAIN_IMAGES} holds 20 images")),
        "{error}"
    );
    assert!(
        error.contains(&format!("{TRAIN_LABELS} holds 19 labels")),
        "{error}"
    );
}

#[test]
fn train_and_test_images_of_different_sizes_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    write_synthetic(dir.path(), 20, 10, 3).unwrap();
    write_images_gz(&dir.path().join(TEST_IMAGES), 2, 14, 14, &[0; 2 * 14 * 14]).unwrap();
    write_labels_gz(&dir.path().join(TEST_LABELS), &[0, 1]).unwrap();
    let error = error_of(load_dir(dir.path()));
    assert!(
        error.contains("28×28") && error.contains("14×14"),
        "{error}"
    );
}

#[test]
fn a_missing_file_names_the_folder_the_expected_files_and_the_download_option() {
    let dir = tempfile::tempdir().unwrap();
    let error = error_of(load_dir(dir.path()));
    assert!(error.contains(&dir.path().display().to_string()), "{error}");
    for name in FILE_NAMES {
        assert!(error.contains(name), "{error}");
    }
    assert!(
        error.contains("--dataset mnist") && error.contains("--data"),
        "{error}"
    );
}

#[test]
fn known_datasets_list_a_checksum_for_each_canonical_file() {
    for dataset in [KnownDataset::Mnist, KnownDataset::FashionMnist] {
        for name in FILE_NAMES {
            let sha256 = dataset.sha256(name).unwrap();
            assert!(sha256.len() == 64 && sha256.chars().all(|c| c.is_ascii_hexdigit()));
        }
        assert_eq!(dataset.sha256("README"), None);
        assert!(!dataset.base_urls().is_empty());
    }
    assert_eq!(KnownDataset::FashionMnist.name(), "fashion-mnist");
}

/// A one-connection-at-a-time HTTP/1.1 server on 127.0.0.1 that answers `GET /<path>` with the
/// bytes stored under `<path>`, and 404 otherwise; it stops when dropped.
struct Server {
    address: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn serve(files: HashMap<String, Vec<u8>>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let (requests, stop) = (requests.clone(), stop.clone());
            move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        // Recorded before answering, so the client cannot finish before it is.
                        let path = requested_path(&stream);
                        requests.lock().unwrap().push(path.clone());
                        respond(&stream, files.get(&path));
                    }
                }
            }
        });
        Server {
            address,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self, folder: &str) -> String {
        format!("http://{}/{folder}", self.address)
    }

    fn requested_paths(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop up so that it sees the stop flag.
        let _ = TcpStream::connect(self.address);
        let _ = self.thread.take().unwrap().join();
    }
}

/// Reads a request and returns the path it asks for, without the leading slash.
fn requested_path(stream: &TcpStream) -> String {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    let _ = reader.read_line(&mut request_line);
    let mut header = String::new();
    while reader.read_line(&mut header).is_ok_and(|len| len > 2) {
        header.clear();
    }
    request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .trim_start_matches('/')
        .to_string()
}

fn respond(mut stream: &TcpStream, body: Option<&Vec<u8>>) {
    let _ = match body {
        Some(body) => write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .and_then(|()| stream.write_all(body)),
        None => write!(
            stream,
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    };
}

/// The four files of a small synthetic dataset, with their SHA-256.
fn synthetic_files() -> Vec<(&'static str, Vec<u8>, String)> {
    let dir = tempfile::tempdir().unwrap();
    write_synthetic(dir.path(), 20, 10, 5).unwrap();
    FILE_NAMES
        .iter()
        .map(|&name| {
            let bytes = fs::read(dir.path().join(name)).unwrap();
            let sha256 = sha256_hex(&bytes);
            (name, bytes, sha256)
        })
        .collect()
}

fn served(files: &[(&str, Vec<u8>, String)], folder: &str) -> HashMap<String, Vec<u8>> {
    files
        .iter()
        .map(|(name, bytes, _)| (format!("{folder}{name}"), bytes.clone()))
        .collect()
}

fn checksums<'a>(files: &'a [(&'static str, Vec<u8>, String)]) -> Vec<(&'a str, &'a str)> {
    files
        .iter()
        .map(|(name, _, sha256)| (*name, sha256.as_str()))
        .collect()
}

#[test]
fn fetch_downloads_verifies_and_writes_every_file() {
    let files = synthetic_files();
    let server = Server::serve(served(&files, "mnist/"));
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("mnist");

    fetch_from(&checksums(&files), &[&server.url("mnist/")], &dir).unwrap();

    assert_eq!(file_names(&dir), sorted_canonical_names());
    for (name, bytes, _) in &files {
        assert_eq!(&fs::read(dir.join(name)).unwrap(), bytes);
    }
    assert_eq!(load_dir(&dir).unwrap().train.images.count, 20);
}

#[test]
fn a_checksum_mismatch_is_reported_and_nothing_is_kept() {
    let files = synthetic_files();
    let server = Server::serve(served(&files, ""));
    let dir = tempfile::tempdir().unwrap();
    let wrong = "0".repeat(64);

    let error = error_of(fetch_from(
        &[(files[0].0, &wrong)],
        &[&server.url("")],
        dir.path(),
    ));

    assert!(error.contains(files[0].0), "{error}");
    assert!(
        error.contains(&wrong) && error.contains(&files[0].2),
        "{error}"
    );
    assert!(error.contains("not kept"), "{error}");
    assert!(file_names(dir.path()).is_empty());
}

#[test]
fn good_cached_files_are_not_downloaded_again_but_damaged_ones_are() {
    let files = synthetic_files();
    let server = Server::serve(served(&files, ""));
    let dir = tempfile::tempdir().unwrap();
    let (good, damaged) = (&files[0], &files[1]);
    fs::write(dir.path().join(good.0), &good.1).unwrap();
    fs::write(dir.path().join(damaged.0), b"half a download").unwrap();

    fetch_from(&checksums(&files), &[&server.url("")], dir.path()).unwrap();

    let mut expected_requests: Vec<String> = files[1..]
        .iter()
        .map(|(name, _, _)| name.to_string())
        .collect();
    expected_requests.sort();
    let mut requests = server.requested_paths();
    requests.sort();
    assert_eq!(requests, expected_requests);
    assert_eq!(fs::read(dir.path().join(damaged.0)).unwrap(), damaged.1);
}

#[test]
fn a_missing_file_on_one_mirror_names_the_url_and_the_next_mirror_is_tried() {
    let files = synthetic_files();
    let server = Server::serve(served(&files, "good/"));
    let dir = tempfile::tempdir().unwrap();
    let (bad_mirror, good_mirror) = (server.url("gone/"), server.url("good/"));

    let error = error_of(fetch_from(&checksums(&files), &[&bad_mirror], dir.path()));
    assert!(
        error.contains(&format!("{bad_mirror}{}", files[0].0)) && error.contains("HTTP 404"),
        "{error}"
    );

    fetch_from(&checksums(&files), &[&bad_mirror, &good_mirror], dir.path()).unwrap();
    assert_eq!(file_names(dir.path()), sorted_canonical_names());
}

#[test]
fn an_unreachable_server_suggests_passing_a_data_folder() {
    // A port that was just free: nothing listens there, so connecting is refused.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let files = synthetic_files();

    let error = error_of(fetch_from(
        &checksums(&files),
        &[&format!("http://127.0.0.1:{port}/")],
        dir.path(),
    ));

    assert!(
        error.contains("could not download") && error.contains("--data DIR"),
        "{error}"
    );
    assert!(file_names(dir.path()).is_empty());
}
