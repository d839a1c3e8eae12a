"""Nothing loaded, load_config/unload_config, status and the configuration lock."""

from __future__ import annotations

import time

import pytest

from pymodaq_plugins_scopeone.simulator import DEMO_CONFIG_TEXT, write_demo_config

from .localapi_client import frames_until

NOTHING_LOADED = [
    ("camera_ids", {}, {"ok": True, "cameraIds": []}),
    ("loaded_devices", {}, {"ok": True, "devices": []}),
    ("xy_stage_devices", {}, {"ok": True, "devices": []}),
    ("z_stage_devices", {}, {"ok": True, "devices": []}),
    ("current_xy_stage_device", {}, {"ok": True, "device": ""}),
    ("current_focus_device", {}, {"ok": True, "device": ""}),
    ("start_preview", {}, {"ok": False, "error": "Failed to start preview"}),
    ("stop_preview", {"camera": "Camera"}, {"ok": False, "error": "Failed to stop preview"}),
    ("latest_raw_frame", {"camera": "Camera"}, {"ok": False, "error": "No latest raw frame for camera"}),
    ("read_exposure", {}, {"ok": False, "error": "Failed to read exposure"}),
    ("set_exposure", {"exposureMs": 5}, {"ok": False, "error": "Failed to set exposure"}),
    ("get_roi", {"camera": "Camera"}, {"ok": False, "error": "Failed to read ROI"}),
    (
        "set_roi",
        {"camera": "Camera", "x": 0, "y": 0, "width": 8, "height": 8},
        {"ok": False, "error": "Failed to set ROI"},
    ),
    ("set_half_roi", {"camera": "Camera"}, {"ok": False, "error": "Failed to set Half ROI"}),
    ("clear_roi", {}, {"ok": False, "error": "Failed to clear ROI"}),
    ("device_properties", {"device": "Camera"}, {"ok": False, "error": 'No device with label "Camera"'}),
    ("device_property_names", {"device": "Z"}, {"ok": False, "error": 'No device with label "Z"'}),
    ("get_property", {"device": "Z", "property": "Position"}, {"ok": False, "error": 'No device with label "Z"'}),
    (
        "set_property",
        {"device": "Z", "property": "Position", "value": "1"},
        {"ok": False, "error": 'No device with label "Z"'},
    ),
    ("read_xy_position", {"device": ""}, {"ok": False, "error": "Failed to read XY position"}),
    ("read_z_position", {"device": ""}, {"ok": False, "error": "Failed to read Z position"}),
    ("move_xy_to", {"device": "", "x": 1, "y": 2}, {"ok": False, "error": "Failed to queue stage move"}),
    ("move_xy_relative", {"device": "", "dx": 1, "dy": 2}, {"ok": False, "error": "Failed to queue stage move"}),
    ("move_z_to", {"device": "", "z": 1}, {"ok": False, "error": "Failed to queue stage move"}),
    ("move_z_relative", {"device": "", "dz": 1}, {"ok": False, "error": "Failed to queue stage move"}),
    ("record", {"frames": 1}, {"ok": False, "error": "No camera to record"}),
    ("session_info", {"sessionId": "x"}, {"ok": False, "error": "Unknown session"}),
    ("session_frame", {"sessionId": "x", "camera": "Camera", "index": 0}, {"ok": False, "error": "Unknown session"}),
    ("session_close", {"sessionId": "x"}, {"ok": False, "error": "Unknown session"}),
]


@pytest.mark.parametrize("type_,fields,expected", NOTHING_LOADED, ids=[c[0] for c in NOTHING_LOADED])
def test_before_load_config_it_behaves_as_scopeone_with_nothing_loaded(client, type_, fields, expected):
    assert client.request(type_, **fields) == {"type": type_, "requestId": 1, **expected}


def test_status_before_loading(client):
    status = client.call("status")
    assert status["configurationState"] == "unloaded"
    assert status["configurationOperationRunning"] is False
    assert status["configurationComplete"] is False
    assert status["cameraIds"] == [] and status["loadedDevices"] == [] and status["runningPreviews"] == []
    assert status["version"] == "1.5.023" and status["coreVersion"] == "1.5.023"


def test_capabilities_advertise_local_socket_and_64_mib(client):
    caps = client.call("capabilities")["capabilities"]
    assert caps["requestMode"] == "sequential"
    assert caps["controlTransport"] == "local_socket"
    assert caps["frameTransport"] == "shared_memory"
    assert caps["maxMessageBytes"] == 67108864
    assert caps["requestId"] is True and caps["localOnly"] is True
    assert "record" in caps["operationGroups"]["recording"]
    assert "move_xy_to" in caps["hardwareMutationOperations"]


def test_frame_mapping_info(sim, client):
    assert client.call("frame_mapping_info") == {
        "type": "frame_mapping_info",
        "ok": True,
        "requestId": 1,
        "mappingName": sim.mapping_name,
        "mappingSize": 67108928,
        "headerBytes": 64,
        "maxPayloadBytes": 67108864,
        "pixelFormats": ["Mono8", "Mono16"],
    }


@pytest.mark.parametrize("fields", [{}, {"configPath": ""}, {"configPath": 12}, {"configPath": None}])
def test_load_config_without_a_path(client, fields):
    assert client.request("load_config", **fields)["error"] == "Missing configPath"


def test_load_config_of_a_missing_file_fails_at_once_and_keeps_the_state(client, short_tmp):
    response = client.request("load_config", configPath=str(short_tmp / "nope.cfg"))
    assert response == {
        "type": "load_config",
        "requestId": 1,
        "ok": False,
        "state": "unloaded",
        "error": f"Configuration file not found: {short_tmp / 'nope.cfg'}",
    }
    assert client.call("status")["configurationError"].startswith("Configuration file not found")


def test_load_config_of_an_invalid_file(client, short_tmp):
    path = short_tmp / "bad.cfg"
    path.write_text("Device,Camera,DemoCamera,DCam\nthis is not a config line\n")
    response = client.request("load_config", configPath=str(path))
    assert response["ok"] is False
    assert response["error"] == "Invalid configuration line 2: this is not a config line"


def test_demo_path_from_the_microscope_pc_loads_the_built_in_demo(client):
    response = client.request("load_config", configPath=r"C:\ScopeOne\config\MMConfig_demo.cfg")
    assert response == {
        "type": "load_config",
        "requestId": 1,
        "ok": True,
        "state": "loaded",
        "complete": True,
        "cameraIds": ["Camera"],
        "failedDevices": [],
        "successCount": 11,
        "failCount": 0,
        "skippedCameraCount": 0,
    }


def test_written_demo_file_loads_the_same_devices(client, short_tmp):
    path = write_demo_config(short_tmp)
    assert path.read_text() == DEMO_CONFIG_TEXT
    client.call("load_config", configPath=str(path))
    assert client.call("loaded_devices")["devices"] == [
        "DHub",
        "Camera",
        "Dichroic",
        "Emission",
        "Excitation",
        "Objective",
        "Z",
        "Path",
        "XY",
        "Shutter",
        "Autofocus",
    ]
    assert client.call("camera_ids")["cameraIds"] == ["Camera"]
    assert client.call("xy_stage_devices")["devices"] == ["XY"]
    assert client.call("z_stage_devices")["devices"] == ["Z"]
    assert client.call("current_xy_stage_device")["device"] == "XY"
    assert client.call("current_focus_device")["device"] == "Z"


def test_unknown_devices_give_a_partial_load(client, short_tmp):
    path = short_tmp / "partial.cfg"
    path.write_text("Device,Camera,DemoCamera,DCam\nDevice,Laser,Coherent,Obis\nProperty,Core,Camera,Camera\n")
    response = client.call("load_config", configPath=str(path))
    assert (response["state"], response["complete"], response["failedDevices"]) == (
        "partially_loaded",
        False,
        ["Laser"],
    )
    assert (response["successCount"], response["failCount"]) == (1, 1)
    status = client.call("status")
    assert status["configurationState"] == "partially_loaded"
    assert status["failedConfigurationDevices"] == ["Laser"]
    assert client.call("xy_stage_devices")["devices"] == []


def test_only_unknown_devices_fail_the_load(client, short_tmp):
    path = short_tmp / "alien.cfg"
    path.write_text("Device,Laser,Coherent,Obis\n")
    response = client.request("load_config", configPath=str(path))
    assert (response["ok"], response["error"], response["state"]) == (False, "Failed to load configuration", "failed")


def test_load_is_asynchronous_and_locks_other_requests(sim, client):
    started = time.monotonic()
    load_id = client.send_request("load_config", configPath="MMConfig_demo.cfg")
    ids = {
        t: client.send_request(t)
        for t in ("camera_ids", "ping", "status", "version", "capabilities", "frame_mapping_info", "move_z_to")
    }
    answers = [client.recv() for _ in range(len(ids) + 1)]
    order = [a["requestId"] for a in answers]
    assert order[-1] == load_id  # the load answers last, after the requests sent behind it
    by_id = {a["requestId"]: a for a in answers}
    assert by_id[ids["camera_ids"]]["error"] == "A configuration operation is still running"
    assert by_id[ids["move_z_to"]]["error"] == "A configuration operation is still running"
    for allowed in ("ping", "status", "version", "capabilities", "frame_mapping_info"):
        assert by_id[ids[allowed]]["ok"] is True
    assert by_id[ids["status"]]["configurationState"] == "loading"
    assert by_id[ids["status"]]["configurationOperationRunning"] is True
    assert by_id[load_id]["ok"] is True
    assert time.monotonic() - started >= 0.025  # config_load_ms = 30 in the tests
    status = client.call("status")
    assert status["configurationState"] == "loaded" and status["configurationPath"] == "MMConfig_demo.cfg"
    assert status["configurationComplete"] is True and status["cameraIds"] == ["Camera"]


def test_unload_config(demo):
    demo.call("start_preview")
    response = demo.call("unload_config")
    assert (response["state"], response["complete"]) == ("unloaded", True)
    status = demo.call("status")
    assert status["configurationState"] == "unloaded" and status["runningPreviews"] == []
    assert demo.call("camera_ids")["cameraIds"] == []
    assert demo.request("latest_raw_frame", camera="Camera")["error"] == "No latest raw frame for camera"


def test_reloading_replaces_the_configuration(demo):
    demo.call("set_exposure", exposureMs=33)
    demo.call("load_config", configPath="MMConfig_demo.cfg")
    assert demo.call("read_exposure")["exposureMs"] == 10


def test_frame_index_keeps_increasing_across_reloads(demo):
    demo.call("start_preview")
    before = frames_until(demo, "Camera", lambda r: True)
    demo.call("load_config", configPath="MMConfig_demo.cfg")
    assert demo.call("status")["runningPreviews"] == []  # a reload stops the previews
    demo.call("start_preview")
    after = frames_until(demo, "Camera", lambda r: True)
    assert int(after["frameIndex"]) > int(before["frameIndex"])
