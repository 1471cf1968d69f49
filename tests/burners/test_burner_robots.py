"""Disc robots through their hot folders, against a simulated robot that answers as the vendors document."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from burners import MediaState, MediumTooSmall, RobotError, RobotTimeout, UnsupportedWrite
from burners.names import plain_ascii, volume_label
from burners.robots import EpsonBurner, PrimeraBurner, ShareMap, new_job_id
from support.robot_sim import SimulatedRobot

SHARE = r"\\ROBOTPC\mediastation"
FAST = {"poll_interval": 0.02, "timeout": 10.0}


@pytest.fixture
def export_dir(tmp_path: Path) -> Path:
    """The station's export folder, shared with the robot's PC as SHARE."""
    folder = tmp_path / "export"
    folder.mkdir()
    return folder


def robot(vendor: str, tmp_path: Path, export_dir: Path, **kwargs) -> SimulatedRobot:
    return SimulatedRobot(vendor, tmp_path / "hot", share_root=SHARE, local_root=export_dir, **kwargs)


def burner(vendor: str, tmp_path: Path, export_dir: Path, **kwargs):
    cls = EpsonBurner if vendor == "epson" else PrimeraBurner
    options = {"publisher": "Disc Publisher SE", "share_map": {str(export_dir): SHARE}, **FAST, **kwargs}
    return cls(tmp_path / "hot", name=f"{vendor}-robot", **options)


def test_primera_burns_an_image_and_reports_done(tmp_path: Path, export_dir: Path, iso_image: Path) -> None:
    image = export_dir / "REQ_42" / "disc.iso"
    image.parent.mkdir()
    image.write_bytes(iso_image.read_bytes())
    states: list[str] = []
    with robot("primera", tmp_path, export_dir) as sim:
        primera = burner("primera", tmp_path, export_dir)
        assert primera.status().state is MediaState.BLANK
        written = primera.write_image(image, label="Mäkelä Åsa", progress=lambda d, t, w: states.append(w),
                                      merge_fields=[("name", "MÄKELÄ Åsa"), ("hetu", "010594Y9032")])
    assert re.fullmatch(r"[A-Za-z0-9_]{1,32}", written.job_id)
    assert written.job_id.startswith("Makela_Asa_")
    job = sim.jobs[written.job_id]
    assert job["ImageFile"] == [SHARE + r"\REQ_42\disc.iso"]
    assert (job["RejectIfNotBlank"], job["CloseDisc"], job["VerifyDisc"]) == (["YES"], ["YES"], ["YES"])
    assert job["MergeField"] == ["MÄKELÄ Åsa", "010594Y9032"]  # printed on the disc as written
    assert job["ClientID"] == ["mediastation"] and job["Copies"] == ["1"]
    assert {"accepted", "in progress", "written"} <= set(states)
    assert (tmp_path / "hot" / f"{written.job_id}.DON").exists()
    assert not list((tmp_path / "hot").glob(".*.part"))
    primera.verify(written)


def test_epson_burns_a_tree_with_plain_ascii_names(tmp_path: Path, export_dir: Path) -> None:
    from support.burner_media import make_tree

    tree = make_tree(export_dir / "REQ_43" / "disc1")
    with robot("epson", tmp_path, export_dir) as sim:
        epson = burner("epson", tmp_path, export_dir, label_file=export_dir / "label.tdd")
        written = epson.write_tree(tree, label="Öhman Jyrki", merge_fields=[("patientName", "ÖHMAN Jyrki")])
    job = sim.jobs[written.job_id]
    assert job["JOB_ID"] == [written.job_id]
    assert job["DATA"] == [SHARE + r"\REQ_43\disc1"]
    assert job["VOLUME_LABEL"] == ["OHMAN_JYRKI"]
    assert (job["DISC_TYPE"], job["FORMAT"], job["CLOSE_DISC"]) == (["CD"], ["JOLIET"], ["YES"])
    assert job["PUBLISHER"] == ["Disc Publisher SE"] and job["LABEL"] == [SHARE + r"\label.tdd"]
    assert job["REPLACE_FIELD"] == [SHARE + rf"\REQ_43\{written.job_id}.DAT"]
    assert (tmp_path / "hot" / f"{written.job_id}.DON").exists()
    epson.verify(written, expected_tree=tree)
    with pytest.raises(UnsupportedWrite):  # TD Bridge burns folders (DATA=), not images
        epson.write_image(tree / "DICOMDIR", label="X")


@pytest.mark.parametrize("vendor", ["epson", "primera"])
def test_robot_error_fails_the_job_with_the_robots_message(vendor: str, tmp_path: Path, export_dir: Path) -> None:
    from support.burner_media import make_tree

    tree = make_tree(export_dir / "disc")
    with robot(vendor, tmp_path, export_dir, behaviour="error"):
        with pytest.raises(RobotError) as caught:
            burner(vendor, tmp_path, export_dir).write_tree(tree, label="X")
    assert "media error" in caught.value.message and caught.value.exit_status == 3
    assert not isinstance(caught.value, RobotTimeout)
    assert caught.value.details["robot_message"]


def test_content_the_robot_cannot_see_fails_with_its_message(tmp_path: Path, export_dir: Path) -> None:
    from support.burner_media import make_tree

    tree = make_tree(export_dir / "disc")
    with robot("primera", tmp_path, export_dir / "elsewhere"):  # the share points somewhere else
        with pytest.raises(RobotError) as caught:
            burner("primera", tmp_path, export_dir).write_tree(tree, label="X")
    assert "cannot open" in caught.value.message


@pytest.mark.parametrize("vendor", ["epson", "primera"])
def test_robot_that_never_answers_times_out_and_the_job_is_withdrawn(vendor: str, tmp_path: Path,
                                                                     export_dir: Path) -> None:
    from support.burner_media import make_tree

    tree = make_tree(export_dir / "disc")
    with robot(vendor, tmp_path, export_dir, behaviour="silent"):
        slow = burner(vendor, tmp_path, export_dir, timeout=0.3)
        assert slow.status().state is MediaState.NONE
        with pytest.raises(RobotTimeout) as caught:
            slow.write_tree(tree, label="X")
    assert "did not pick the job up" in caught.value.message and "0.3 s" in caught.value.message
    assert caught.value.exit_status == 3
    assert [p.name for p in (tmp_path / "hot").iterdir() if p.suffix.upper() in (".JDF", ".JRQ")] == []


@pytest.mark.parametrize(("vendor", "cancel"), [("epson", ".JCF"), ("primera", ".PTM")])
def test_robot_stuck_mid_job_times_out_with_a_cancel_request(vendor: str, cancel: str, tmp_path: Path,
                                                             export_dir: Path) -> None:
    from support.burner_media import make_tree

    tree = make_tree(export_dir / "disc")
    with robot(vendor, tmp_path, export_dir, behaviour="stall"):
        with pytest.raises(RobotTimeout) as caught:
            burner(vendor, tmp_path, export_dir, timeout=0.4).write_tree(tree, label="X")
    job_id = caught.value.details["job_id"]
    assert caught.value.details["last_state"] == "in progress"
    assert (tmp_path / "hot" / f"{job_id}{cancel}").exists()


def test_paths_outside_the_share_are_refused_before_submitting(tmp_path: Path, export_dir: Path,
                                                               iso_image: Path) -> None:
    (tmp_path / "hot").mkdir()
    with pytest.raises(RobotError) as caught:
        burner("primera", tmp_path, export_dir).write_image(iso_image, label="X")
    assert "share_prefixes" in caught.value.message
    assert list((tmp_path / "hot").iterdir()) == []


def test_disc_type_follows_size_and_too_big_is_refused(tmp_path: Path, export_dir: Path) -> None:
    small = {"cd": 1000, "dvd": 2000, "dvd-dl": 3000}
    robot_burner = burner("epson", tmp_path, export_dir, capacities=small)
    assert [robot_burner.disc_type(n) for n in (999, 1500, 3000)] == ["cd", "dvd", "dvd-dl"]
    with pytest.raises(MediumTooSmall) as caught:
        robot_burner.disc_type(3001)
    assert caught.value.exit_status == 1 and "3001" in caught.value.message
    fixed = burner("epson", tmp_path, export_dir, capacities=small, media="cd")
    with pytest.raises(MediumTooSmall):
        fixed.disc_type(1500)


def test_share_map_translation() -> None:
    unc = ShareMap.of({"/srv/ms": r"\\PC\ms", "/srv/ms/labels": r"\\PC\labels"})
    assert unc.translate(Path("/srv/ms/jobs/a b/disc.iso")) == r"\\PC\ms\jobs\a b\disc.iso"
    assert unc.translate(Path("/srv/ms/labels/hus.std")) == r"\\PC\labels\hus.std"  # the longest prefix wins
    assert ShareMap.of({"/srv": "/mnt/station"}).translate(Path("/srv/x.iso")) == "/mnt/station/x.iso"
    assert ShareMap().translate(Path("/srv/x.iso")) == "/srv/x.iso"
    with pytest.raises(RobotError):
        unc.translate(Path("/home/x.iso"))


def test_names_are_plain_ascii() -> None:
    assert plain_ascii("Mäkelä^Åsa 2024/05", 40) == "Makela_Asa_2024_05"
    assert volume_label("Öhman, Jyrki", 11) == "OHMAN_JYRKI"
    assert plain_ascii("ÅÄÖ" * 20, 10) == "AAOAAOAAOA"
    assert plain_ascii("???", 8) == "MEDIA"
    job = new_job_id("Ärrä " * 20)
    assert re.fullmatch(r"Arra_[A-Za-z0-9_]*_[0-9a-f]{8}", job) and len(job) <= 32
