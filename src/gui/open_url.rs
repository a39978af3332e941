//! File > Open URL…: a video or a dataset on object storage or an HTTP server (`s3://`,
//! `gs://`, `az://`, `http(s)://`). The tab it opens fetches the index in the background with
//! its progress, as for a local file.

use std::path::PathBuf;

/// The dialog's state: open while `text` is `Some`.
#[derive(Default)]
pub struct OpenUrlDialog {
    pub text: Option<String>,
    error: Option<String>,
}

impl OpenUrlDialog {
    pub fn open(&mut self) {
        self.text.get_or_insert_with(String::new);
        self.error = None;
    }

    /// Draws the dialog; the URL to open when the user confirms one.
    pub fn show(&mut self, ctx: &egui::Context) -> Option<PathBuf> {
        let text = self.text.as_mut()?;
        let mut chosen = None;
        let mut close = false;
        egui::Window::new("Open URL")
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_TOP, [0.0, 80.0])
            .min_width(460.0)
            .show(ctx, |ui| {
                ui.label("A video or dataset at s3://, gs://, az:// or http(s)://");
                let edit = ui.add(
                    egui::TextEdit::singleline(text)
                        .hint_text("s3://bucket/videos/clip.mp4")
                        .desired_width(f32::INFINITY),
                );
                let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                ui.label(
                    egui::RichText::new(
                        "Credentials come from the environment (AWS_ACCESS_KEY_ID, ...; \
                         VDX_S3_ENDPOINT for another endpoint).",
                    )
                    .small()
                    .weak(),
                );
                if let Some(e) = &self.error {
                    ui.colored_label(ui.visuals().error_fg_color, e);
                }
                ui.horizontal(|ui| {
                    if ui.button("Open").clicked() || enter {
                        let url = text.trim();
                        if vdx_is_url(url) {
                            chosen = Some(PathBuf::from(url));
                        } else {
                            self.error = Some(format!(
                                "'{url}' is not an s3://, gs://, az:// or http(s):// URL"
                            ));
                        }
                    }
                    if ui.button("Cancel").clicked() {
                        close = true;
                    }
                });
            });
        if chosen.is_some() || close {
            self.text = None;
            self.error = None;
        }
        chosen
    }
}

fn vdx_is_url(s: &str) -> bool {
    crate::storage::is_url_str(s)
}
