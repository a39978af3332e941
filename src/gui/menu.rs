//! The menu bar: File (open videos and datasets, recent files), Dataset (build, export, compare
//! fields), View.

use super::*;

impl VdxApp {
    /// The menu bar: File, View, then one tab per open video and dataset.
    pub(super) fn menu_bar(&mut self, ui: &mut egui::Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| self.file_menu(ui));
            ui.menu_button("View", |ui| {
                ui.checkbox(&mut self.show_metadata, "Metadata panel");
                ui.checkbox(&mut self.show_clips, "Clip view");
            });
            ui.separator();
            self.tab_row(ui);
        });
    }

    /// File: open videos, datasets, URLs and annotations, recent files, build, compare fields,
    /// export, quit.
    fn file_menu(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        if ui.button("Open…").clicked() {
            let picked = rfd::FileDialog::new()
                .add_filter(
                    "videos and datasets",
                    &[
                        "mp4", "mkv", "webm", "mov", "avi", "m4v", "vdx", "beton", "vdxm",
                    ],
                )
                .pick_files()
                .unwrap_or_default();
            for p in picked {
                self.commands.push(Command::Open(p));
            }
            ui.close();
        }
        if ui
            .button("Open URL…")
            .on_hover_text("A video or dataset on s3://, gs://, az:// or http(s)://")
            .clicked()
        {
            self.open_url.open();
            ui.close();
        }
        let has_video = self.state.active_tab().is_some();
        if ui
            .add_enabled(has_video, egui::Button::new("Open annotations…"))
            .on_hover_text(
                "Draw the segments an annotation file gives this video on its timeline \
                 (Kinetics, SSv2, UCF-101, HMDB-51, EPIC, Charades, CSV, JSON Lines)",
            )
            .clicked()
        {
            if let Some(f) = rfd::FileDialog::new()
                .add_filter("annotations", &["csv", "json", "jsonl", "txt"])
                .pick_file()
            {
                self.commands.push(Command::OpenAnnotations(f));
            }
            ui.close();
        }
        ui.menu_button("Open recent", |ui| {
            if self.state.recent.is_empty() {
                ui.label("(none yet)");
            }
            for p in &self.state.recent {
                if ui.button(p.display().to_string()).clicked() {
                    self.commands.push(Command::Open(p.clone()));
                    ui.close();
                }
            }
        });
        ui.separator();
        if ui.button("Build dataset…").clicked() {
            self.build.open = true;
            if self.build.inputs.is_empty() {
                self.build.inputs = self.state.tabs.iter().map(|t| t.path.clone()).collect();
            }
            ui.close();
        }
        if ui.button("Compare fields…").clicked() {
            self.fields.open = true;
            if self.fields.inputs.is_empty() {
                self.fields.inputs = self.state.tabs.iter().map(|t| t.path.clone()).collect();
            }
            ui.close();
        }
        let st = &self.state;
        let ds = st
            .active_dataset
            .and_then(|k| st.datasets.get(k))
            .map(|d| d.path.clone());
        if ui
            .add_enabled(ds.is_some(), egui::Button::new("Export dataset…"))
            .on_disabled_hover_text("open a dataset tab first")
            .clicked()
        {
            self.export.open = true;
            self.export.dataset = ds;
            ui.close();
        }
        ui.separator();
        if ui.button("Quit").clicked() {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }

    /// The open videos and datasets as tabs: a click shows one, a middle click closes a video.
    fn tab_row(&mut self, ui: &mut egui::Ui) {
        let st = &self.state;
        for (k, t) in st.tabs.iter().enumerate() {
            let label = if t.error.is_some() {
                format!("! {}", t.name())
            } else {
                t.name()
            };
            let r = ui.selectable_label(k == st.active && st.active_dataset.is_none(), label);
            if r.clicked() {
                self.commands.push(Command::ShowVideo(k));
            }
            if r.middle_clicked() {
                self.commands.push(Command::CloseVideo(k));
            }
        }
        for (k, d) in st.datasets.iter().enumerate() {
            let label = if d.error.is_some() {
                format!("! {}", d.name())
            } else {
                d.name()
            };
            if ui
                .selectable_label(st.active_dataset == Some(k), label)
                .clicked()
            {
                self.commands.push(Command::ShowDataset(k));
            }
        }
    }
}
