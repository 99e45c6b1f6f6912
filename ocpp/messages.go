package ocpp

import "time"

// Payloads of the OCPP 1.6 messages gridbox reads and writes. Optional
// fields are pointers or omitempty so that what is sent validates against
// the official schemas (checked before every send).

type bootReq struct {
	ChargePointVendor       string `json:"chargePointVendor"`
	ChargePointModel        string `json:"chargePointModel"`
	ChargePointSerialNumber string `json:"chargePointSerialNumber"`
	ChargeBoxSerialNumber   string `json:"chargeBoxSerialNumber"`
	FirmwareVersion         string `json:"firmwareVersion"`
}

type bootConf struct {
	Status      string `json:"status"`
	CurrentTime string `json:"currentTime"`
	Interval    int    `json:"interval"`
}

type heartbeatConf struct {
	CurrentTime string `json:"currentTime"`
}

type statusReq struct {
	ConnectorID int    `json:"connectorId"`
	ErrorCode   string `json:"errorCode"`
	Status      string `json:"status"`
	Info        string `json:"info"`
}

type idTagInfo struct {
	Status string `json:"status"`
}

type authorizeReq struct {
	IDTag string `json:"idTag"`
}

type idTagConf struct {
	IDTagInfo idTagInfo `json:"idTagInfo"`
}

type startReq struct {
	ConnectorID int    `json:"connectorId"`
	IDTag       string `json:"idTag"`
	MeterStart  int    `json:"meterStart"`
	Timestamp   string `json:"timestamp"`
}

type startConf struct {
	IDTagInfo     idTagInfo `json:"idTagInfo"`
	TransactionID int       `json:"transactionId"`
}

type stopReq struct {
	IDTag           string       `json:"idTag"`
	MeterStop       int          `json:"meterStop"`
	Timestamp       string       `json:"timestamp"`
	TransactionID   int          `json:"transactionId"`
	Reason          string       `json:"reason"`
	TransactionData []meterValue `json:"transactionData"`
}

type stopConf struct {
	IDTagInfo *idTagInfo `json:"idTagInfo,omitempty"`
}

type meterValuesReq struct {
	ConnectorID   int          `json:"connectorId"`
	TransactionID *int         `json:"transactionId"`
	MeterValue    []meterValue `json:"meterValue"`
}

type meterValue struct {
	Timestamp    string         `json:"timestamp"`
	SampledValue []sampledValue `json:"sampledValue"`
}

type sampledValue struct {
	Value     string `json:"value"`
	Context   string `json:"context"`
	Format    string `json:"format"`
	Measurand string `json:"measurand"`
	Phase     string `json:"phase"`
	Location  string `json:"location"`
	Unit      string `json:"unit"`
}

type dataTransferReq struct {
	VendorID  string `json:"vendorId"`
	MessageID string `json:"messageId"`
	Data      string `json:"data"`
}

type statusConf struct {
	Status string `json:"status"`
}

type empty struct{}

// Outgoing calls.

// ChargingProfile is an OCPP 1.6 csChargingProfiles.
type ChargingProfile struct {
	ChargingProfileID      int              `json:"chargingProfileId"`
	TransactionID          *int             `json:"transactionId,omitempty"`
	StackLevel             int              `json:"stackLevel"`
	ChargingProfilePurpose string           `json:"chargingProfilePurpose"`
	ChargingProfileKind    string           `json:"chargingProfileKind"`
	ChargingSchedule       ChargingSchedule `json:"chargingSchedule"`
}

// ChargingSchedule is a schedule of one or more limits.
type ChargingSchedule struct {
	ChargingRateUnit       string           `json:"chargingRateUnit"` // A or W
	ChargingSchedulePeriod []SchedulePeriod `json:"chargingSchedulePeriod"`
}

// SchedulePeriod is one limit from StartPeriod seconds on.
type SchedulePeriod struct {
	StartPeriod  int     `json:"startPeriod"`
	Limit        float64 `json:"limit"`
	NumberPhases *int    `json:"numberPhases,omitempty"`
}

type setProfileReq struct {
	ConnectorID        int             `json:"connectorId"`
	CsChargingProfiles ChargingProfile `json:"csChargingProfiles"`
}

// KeyValue is one configuration key a charge point reports.
type KeyValue struct {
	Key      string  `json:"key"`
	Readonly bool    `json:"readonly"`
	Value    *string `json:"value,omitempty"`
}

type getConfigReq struct {
	Key []string `json:"key,omitempty"`
}

type getConfigConf struct {
	ConfigurationKey []KeyValue `json:"configurationKey"`
	UnknownKey       []string   `json:"unknownKey"`
}

// ocppTime formats t as OCPP wants it (RFC 3339, UTC, milliseconds).
func ocppTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
