package sim

// The simulated SunSpec devices (docs/simulators.md "SunSpec"). Values are
// raw register contents; the scale factors are set next to them.

// common is a model 1 block.
func common(model, serial string, addr int, length uint16) ssModel {
	return ssModel{id: 1, length: length, vals: map[string]any{
		"Mn": "gridbox", "Md": model, "Vr": "1.0.0", "SN": serial, "DA": addr,
	}}
}

// newSunSpecInt is an integer-model hybrid inverter (103) with nameplate,
// controls, storage (124) and two MPPT inputs (160), and a meter (203)
// behind it as a second logical device; marker at 40000.
func newSunSpecInt() *ssDevice {
	return newSunSpec(40000, []ssModel{
		common("SIM-INT-10", "INT0001", 1, 0),
		{id: 103, vals: map[string]any{
			"A": 1830, "AphA": 610, "AphB": 610, "AphC": 610, "A_SF": -2,
			"PhVphA": 2301, "PhVphB": 2302, "PhVphC": 2299, "V_SF": -1,
			"W": 420, "W_SF": 1, "Hz": 5000, "Hz_SF": -2, "VA": 4300, "VA_SF": 0,
			"PF": 98, "PF_SF": -2, "WH": 12345678, "WH_SF": 0,
			"DCV": 6500, "DCV_SF": -1, "DCW": 4350, "DCW_SF": 0,
			"TmpCab": 452, "Tmp_SF": -1, "St": 4, "Evt1": 0,
		}},
		{id: 120, vals: map[string]any{"DERTyp": 82, "WRtg": 10000, "WRtg_SF": 0}},
		{id: 123, vals: map[string]any{
			"Conn": 1, "WMaxLimPct": 10000, "WMaxLimPct_SF": -2, "WMaxLim_Ena": 0,
			"WMaxLimPct_WinTms": 0, "WMaxLimPct_RvrtTms": 0, "WMaxLimPct_RmpTms": 0,
		}},
		{id: 124, vals: map[string]any{
			"WChaMax": 5000, "WChaMax_SF": 0, "StorCtl_Mod": 0, "ChaState": 655, "ChaState_SF": -1,
			"InBatV": 4800, "InBatV_SF": -1, "ChaSt": 4, "OutWRte": 10000, "InWRte": 10000, "InOutWRte_SF": -2,
		}},
		{id: 160, repeats: 2, vals: map[string]any{
			"DCA_SF": -2, "DCV_SF": -1, "DCW_SF": 0, "DCWH_SF": 0, "N": 2,
			"module1.ID": 1, "module1.IDStr": "String 1", "module1.DCA": 550, "module1.DCV": 4000, "module1.DCW": 2200, "module1.DCWH": 500000, "module1.DCSt": 4,
			"module2.ID": 2, "module2.IDStr": "String 2", "module2.DCA": 540, "module2.DCV": 3980, "module2.DCW": 2150, "module2.DCWH": 490000, "module2.DCSt": 4,
		}},
		common("SIM-METER", "MTR0001", 2, 0),
		{id: 203, vals: map[string]any{
			"A": 650, "AphA": 220, "AphB": 215, "AphC": 215, "A_SF": -2,
			"PhV": 2303, "PhVphA": 2305, "PhVphB": 2302, "PhVphC": 2301, "V_SF": -1,
			"Hz": 5001, "Hz_SF": -2, "W": -1500, "WphA": -500, "WphB": -500, "WphC": -500, "W_SF": 0,
			"TotWhImp": 2000000, "TotWhExp": 3000000, "TotWh_SF": 0,
		}},
	})
}

// newSunSpecFloat is a float-model inverter laid out like a Fronius GEN24
// (common block of 65 registers, 113, 120–124, 160), so that WMaxLimPct is
// at 40242 and WMaxLim_Ena at 40246, with a float meter (213) behind it.
func newSunSpecFloat() *ssDevice {
	return newSunSpec(40000, []ssModel{
		common("Primo GEN24 8.0", "FLT0001", 1, 65),
		{id: 113, vals: map[string]any{
			"A": 15.2, "AphA": 5.1, "AphB": 5.0, "AphC": 5.1, "PhVphA": 230.1, "PhVphB": 229.8, "PhVphC": 231.0,
			"W": 3456.5, "Hz": 50.01, "VA": 3500.0, "PF": 0.99, "WH": 9876543.0, "DCW": 3550.0, "St": 4,
		}},
		{id: 120, vals: map[string]any{"DERTyp": 4, "WRtg": 8000, "WRtg_SF": 0}},
		{id: 121, vals: map[string]any{"WMax": 8000, "WMax_SF": 0}},
		{id: 122, vals: map[string]any{"PVConn": 7}},
		{id: 123, vals: map[string]any{
			"Conn": 1, "WMaxLimPct": 10000, "WMaxLimPct_SF": -2, "WMaxLim_Ena": 0,
			"WMaxLimPct_WinTms": 0, "WMaxLimPct_RvrtTms": 0, "WMaxLimPct_RmpTms": 0,
		}},
		{id: 124, vals: map[string]any{"WChaMax": 10240, "WChaMax_SF": 0, "ChaState": 4200, "ChaState_SF": -2, "StorCtl_Mod": 0, "InOutWRte_SF": -2}},
		{id: 160, repeats: 2, vals: map[string]any{
			"DCA_SF": -2, "DCV_SF": -2, "DCW_SF": 0, "DCWH_SF": 0, "N": 2,
			"module1.ID": 1, "module1.IDStr": "MPPT 1", "module1.DCW": 1800, "module1.DCV": 41000, "module1.DCA": 439,
			"module2.ID": 2, "module2.IDStr": "MPPT 2", "module2.DCW": 1750, "module2.DCV": 40500, "module2.DCA": 432,
		}},
		common("Smart Meter TS 65A-3", "FLTMTR1", 200, 65),
		{id: 213, vals: map[string]any{
			"W": 1234.5, "WphA": 411.5, "WphB": 411.5, "WphC": 411.5, "Hz": 49.99,
			"PhVphA": 230.5, "PhVphB": 230.2, "PhVphC": 229.9, "TotWhImp": 4567890.0, "TotWhExp": 1234567.0,
		}},
	})
}

// newSunSpecDER is a device with the 7xx DER models and a battery (802);
// its marker is one register late (40001), as on devices that count
// registers from 1.
func newSunSpecDER() *ssDevice {
	return newSunSpec(40001, []ssModel{
		common("SIM-DER-7", "DER0001", 1, 0),
		{id: 701, vals: map[string]any{
			"ACType": 3, "St": 1, "InvSt": 4, "ConnSt": 1, "W": 5000, "W_SF": 0, "VA": 5100, "VA_SF": 0,
			"LNV": 2300, "LLV": 3990, "V_SF": -1, "Hz": 50000, "Hz_SF": -3, "TotWhInj": 7654321, "TotWh_SF": 0,
			"WL1": 1667, "WL2": 1667, "WL3": 1666, "TmpCab": 41, "Tmp_SF": 0,
		}},
		{id: 702, vals: map[string]any{"WMaxRtg": 10000, "WMax": 10000, "W_SF": 0}},
		{id: 703, vals: map[string]any{"ES": 1}},
		{id: 704, vals: map[string]any{"WMaxLimPctEna": 0, "WMaxLimPct": 100, "WMaxLimPct_SF": 0, "WMaxLimPctRvrt": 100}},
		{id: 713, vals: map[string]any{"WHRtg": 10000, "WHAvail": 7950, "WH_SF": 0, "SoC": 795, "SoH": 990, "Pct_SF": -1, "Sta": 1}},
		{id: 802, vals: map[string]any{
			"AHRtg": 200, "AHRtg_SF": 0, "WHRtg": 10000, "WHRtg_SF": 0, "SoC": 795, "SoC_SF": -1,
			"ChaSt": 4, "State": 3, "V": 4820, "V_SF": -1, "A": -415, "A_SF": -1, "W": -2000, "W_SF": 0,
		}},
	})
}
