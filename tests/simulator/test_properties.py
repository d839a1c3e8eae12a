"""device_properties, device_property_names, get_property, set_property."""

from __future__ import annotations

import pytest


def test_camera_property_names_are_sorted(demo):
    assert demo.call("device_property_names", device="Camera")["names"] == [
        "Binning",
        "BitDepth",
        "CameraID",
        "CameraName",
        "Description",
        "Exposure",
        "Mode",
        "Name",
        "OnCameraCCDXSize",
        "OnCameraCCDYSize",
        "PixelType",
        "ReadoutTime",
    ]


def test_property_descriptions(demo):
    props = {p["name"]: p for p in demo.call("device_properties", device="Camera", fromCache=False)["properties"]}
    assert props["Exposure"] == {
        "name": "Exposure",
        "value": "10.0000",
        "type": "Float",
        "readOnly": False,
        "preInit": False,
        "allowedValues": [],
        "hasLimits": True,
        "lowerLimit": 0,
        "upperLimit": 10000,
    }
    assert props["Binning"] == {
        "name": "Binning",
        "value": "1",
        "type": "Integer",
        "readOnly": False,
        "preInit": False,
        "allowedValues": ["1", "2", "4", "8"],
        "hasLimits": False,
    }
    assert props["Name"]["value"] == "DCam" and props["Name"]["readOnly"] is True
    assert props["PixelType"]["allowedValues"] == ["8bit", "16bit"]
    assert props["BitDepth"]["allowedValues"] == ["8", "10", "12", "14", "16"]
    assert props["BitDepth"]["value"] == "16" and props["PixelType"]["value"] == "16bit"


def test_z_and_xy_and_plain_devices(demo):
    z = {p["name"]: p for p in demo.call("device_properties", device="Z")["properties"]}
    assert z["Position"]["value"] == "0.0000" and z["Position"]["hasLimits"] is True
    assert (z["Position"]["lowerLimit"], z["Position"]["upperLimit"]) == (-300, 300)
    assert z["Name"]["value"] == "DStage"
    assert demo.call("device_property_names", device="XY")["names"] == ["Description", "Name"]
    assert demo.call("get_property", device="XY", property="Name")["value"] == "DXYStage"
    assert demo.call("get_property", device="Dichroic", property="Description")["value"] == "Demo filter wheel driver"


def test_set_and_get_property_values_are_strings(demo):
    assert demo.call("set_property", device="Camera", property="Exposure", value="25.5") == {
        "type": "set_property",
        "requestId": 1,
        "ok": True,
    }
    assert demo.call("get_property", device="Camera", property="Exposure") == {
        "type": "get_property",
        "requestId": 2,
        "ok": True,
        "value": "25.5000",
    }
    assert demo.call("read_exposure")["exposureMs"] == 25.5
    demo.call("set_property", device="Camera", property="Mode", value="Noise")
    assert demo.call("get_property", device="Camera", property="Mode")["value"] == "Noise"


def test_setting_z_position_moves_the_focus_at_once(demo):
    demo.call("set_property", device="Z", property="Position", value="12.5")
    assert demo.call("read_z_position")["z"] == 12.5
    assert demo.call("get_property", device="Z", property="Position")["value"] == "12.5000"


@pytest.mark.parametrize(
    "fields,error",
    [
        ({"property": "Exposure"}, "Missing device or property"),
        ({"device": "Camera"}, "Missing device or property"),
        ({"device": 1, "property": "Exposure"}, "Missing device or property"),
        ({"device": "Ghost", "property": "Exposure"}, 'No device with label "Ghost"'),
        ({"device": "Camera", "property": "Gain"}, 'Device "Camera" has no property "Gain"'),
    ],
)
def test_get_property_errors(demo, fields, error):
    assert demo.request("get_property", **fields)["error"] == error


@pytest.mark.parametrize(
    "prop,value,error",
    [
        ("Name", "X", 'Property "Name" of device "Camera" is read-only'),
        ("Binning", "3", 'Invalid value "3" for property "Binning" of device "Camera"'),
        ("Binning", 2, 'Invalid value "" for property "Binning" of device "Camera"'),  # a number reads as ""
        ("Exposure", "fast", 'Invalid value "fast" for property "Exposure" of device "Camera"'),
        ("Exposure", "20000", 'Invalid value "20000" for property "Exposure" of device "Camera"'),
        ("PixelType", "32bitRGB", 'Invalid value "32bitRGB" for property "PixelType" of device "Camera"'),
        ("BitDepth", "11", 'Invalid value "11" for property "BitDepth" of device "Camera"'),
    ],
)
def test_set_property_errors(demo, prop, value, error):
    assert demo.request("set_property", device="Camera", property=prop, value=value)["error"] == error


def test_z_position_outside_travel_is_refused(demo):
    error = demo.request("set_property", device="Z", property="Position", value="301")["error"]
    assert error == 'Invalid value "301" for property "Position" of device "Z"'
    assert demo.call("read_z_position")["z"] == 0


@pytest.mark.parametrize("type_", ["device_properties", "device_property_names"])
def test_listing_errors(demo, type_):
    assert demo.request(type_)["error"] == "Missing device"
    assert demo.request(type_, device="")["error"] == "Missing device"
    assert demo.request(type_, device="Ghost")["error"] == 'No device with label "Ghost"'
