"""The batch/v1 Job schema the fake API server checks created Jobs against.

A subset of the Kubernetes API reference (v1.32): every field of Job, JobSpec, PodTemplateSpec,
PodSpec, Container, EnvVar, EnvVarSource, SecretKeySelector, ResourceRequirements, VolumeMount,
Volume (hostPath, persistentVolumeClaim, emptyDir; other sources accepted unchecked), Toleration,
SecurityContext and PodSecurityContext. An unknown field is reported the way a server with
`fieldValidation=Strict` does (400 BadRequest, `strict decoding error: unknown field "..."`); a
wrong JSON type the way the Go decoder does; the semantic rules a real server applies to a Job
(required fields, name syntax, restartPolicy, label values, quantities, tolerations) as 422
Invalid causes. Pure functions, no I/O.
"""

import re

ANY = "any"  # accepted without a look inside (a type this fake does not model)

# A type is a Python type name ("str", "int", "bool"), ANY, "quantity", ("list", T),
# ("map", T) or the name of a struct below.
STRUCTS = {
    "Job": {"apiVersion": "str", "kind": "str", "metadata": "ObjectMeta", "spec": "JobSpec",
            "status": ANY},
    "ObjectMeta": {
        "name": "str", "generateName": "str", "namespace": "str", "labels": ("map", "str"),
        "annotations": ("map", "str"), "uid": "str", "resourceVersion": "str",
        "creationTimestamp": ANY, "deletionTimestamp": ANY, "deletionGracePeriodSeconds": "int",
        "generation": "int", "ownerReferences": ("list", ANY), "finalizers": ("list", "str"),
        "managedFields": ("list", ANY), "selfLink": "str"},
    "JobSpec": {
        "activeDeadlineSeconds": "int", "backoffLimit": "int", "backoffLimitPerIndex": "int",
        "completionMode": "str", "completions": "int", "managedBy": "str",
        "manualSelector": "bool", "maxFailedIndexes": "int", "parallelism": "int",
        "podFailurePolicy": ANY, "podReplacementPolicy": "str", "selector": "LabelSelector",
        "successPolicy": ANY, "suspend": "bool", "template": "PodTemplateSpec",
        "ttlSecondsAfterFinished": "int"},
    "LabelSelector": {"matchLabels": ("map", "str"), "matchExpressions": ("list", ANY)},
    "PodTemplateSpec": {"metadata": "ObjectMeta", "spec": "PodSpec"},
    "PodSpec": {
        "activeDeadlineSeconds": "int", "affinity": ANY, "automountServiceAccountToken": "bool",
        "containers": ("list", "Container"), "dnsConfig": ANY, "dnsPolicy": "str",
        "enableServiceLinks": "bool", "ephemeralContainers": ("list", ANY),
        "hostAliases": ("list", ANY), "hostIPC": "bool", "hostNetwork": "bool", "hostPID": "bool",
        "hostUsers": "bool", "hostname": "str", "imagePullSecrets": ("list", "LocalObjectReference"),
        "initContainers": ("list", "Container"), "nodeName": "str",
        "nodeSelector": ("map", "str"), "os": ANY, "overhead": ("map", "quantity"),
        "preemptionPolicy": "str", "priority": "int", "priorityClassName": "str",
        "readinessGates": ("list", ANY), "resourceClaims": ("list", ANY), "resources": ANY,
        "restartPolicy": "str", "runtimeClassName": "str", "schedulerName": "str",
        "schedulingGates": ("list", ANY), "securityContext": "PodSecurityContext",
        "serviceAccount": "str", "serviceAccountName": "str", "setHostnameAsFQDN": "bool",
        "shareProcessNamespace": "bool", "subdomain": "str",
        "terminationGracePeriodSeconds": "int", "tolerations": ("list", "Toleration"),
        "topologySpreadConstraints": ("list", ANY), "volumes": ("list", "Volume")},
    "LocalObjectReference": {"name": "str"},
    "Container": {
        "args": ("list", "str"), "command": ("list", "str"), "env": ("list", "EnvVar"),
        "envFrom": ("list", ANY), "image": "str", "imagePullPolicy": "str", "lifecycle": ANY,
        "livenessProbe": ANY, "name": "str", "ports": ("list", ANY), "readinessProbe": ANY,
        "resizePolicy": ("list", ANY), "resources": "ResourceRequirements",
        "restartPolicy": "str", "securityContext": "SecurityContext", "startupProbe": ANY,
        "stdin": "bool", "stdinOnce": "bool", "terminationMessagePath": "str",
        "terminationMessagePolicy": "str", "tty": "bool", "volumeDevices": ("list", ANY),
        "volumeMounts": ("list", "VolumeMount"), "workingDir": "str"},
    "EnvVar": {"name": "str", "value": "str", "valueFrom": "EnvVarSource"},
    "EnvVarSource": {"configMapKeyRef": ANY, "fieldRef": ANY, "resourceFieldRef": ANY,
                     "secretKeyRef": "SecretKeySelector"},
    "SecretKeySelector": {"key": "str", "name": "str", "optional": "bool"},
    "ResourceRequirements": {"claims": ("list", ANY), "limits": ("map", "quantity"),
                             "requests": ("map", "quantity")},
    "VolumeMount": {"mountPath": "str", "mountPropagation": "str", "name": "str",
                    "readOnly": "bool", "recursiveReadOnly": "str", "subPath": "str",
                    "subPathExpr": "str"},
    "Volume": {"name": "str", "hostPath": "HostPathVolumeSource",
               "persistentVolumeClaim": "PersistentVolumeClaimVolumeSource",
               "emptyDir": "EmptyDirVolumeSource", "configMap": ANY, "secret": ANY,
               "projected": ANY, "downwardAPI": ANY, "csi": ANY, "ephemeral": ANY, "nfs": ANY,
               **{k: ANY for k in (
                   "awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "fc",
                   "flexVolume", "flocker", "gcePersistentDisk", "gitRepo", "glusterfs", "image",
                   "iscsi", "photonPersistentDisk", "portworxVolume", "quobyte", "rbd",
                   "scaleIO", "storageos", "vsphereVolume")}},
    "HostPathVolumeSource": {"path": "str", "type": "str"},
    "PersistentVolumeClaimVolumeSource": {"claimName": "str", "readOnly": "bool"},
    "EmptyDirVolumeSource": {"medium": "str", "sizeLimit": "quantity"},
    "Toleration": {"effect": "str", "key": "str", "operator": "str",
                   "tolerationSeconds": "int", "value": "str"},
    "SecurityContext": {
        "allowPrivilegeEscalation": "bool", "appArmorProfile": ANY,
        "capabilities": "Capabilities", "privileged": "bool", "procMount": "str",
        "readOnlyRootFilesystem": "bool", "runAsGroup": "int", "runAsNonRoot": "bool",
        "runAsUser": "int", "seLinuxOptions": ANY, "seccompProfile": "SeccompProfile",
        "windowsOptions": ANY},
    "PodSecurityContext": {
        "appArmorProfile": ANY, "fsGroup": "int", "fsGroupChangePolicy": "str",
        "runAsGroup": "int", "runAsNonRoot": "bool", "runAsUser": "int", "seLinuxOptions": ANY,
        "seccompProfile": "SeccompProfile", "supplementalGroups": ("list", "int"),
        "supplementalGroupsPolicy": "str", "sysctls": ("list", ANY), "windowsOptions": ANY},
    "Capabilities": {"add": ("list", "str"), "drop": ("list", "str")},
    "SeccompProfile": {"localhostProfile": "str", "type": "str"},
}

_GO_TYPE = {"str": "string", "int": "int64", "bool": "bool", "quantity": "Quantity"}
_QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?\d+)?$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_NAME = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                         r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


def _json_type(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "number"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "null"


def decode_errors(value, typ="Job", path=""):
    """Strict-decoding problems of `value` read as `typ`: unknown fields and wrong JSON types,
    each a message as the API server words it. JSON null is accepted anywhere (Go's decoder
    leaves the zero value)."""
    errs = []
    if value is None or typ == ANY:
        return errs
    here = path or "<root>"
    if isinstance(typ, tuple):
        kind, elem = typ
        if kind == "list":
            if not isinstance(value, list):
                return [f'json: cannot unmarshal {_json_type(value)} into Go struct field '
                        f'{here} of type []{_GO_TYPE.get(elem, elem)}']
            for i, v in enumerate(value):
                errs += decode_errors(v, elem, f"{path}[{i}]")
            return errs
        if not isinstance(value, dict):
            return [f'json: cannot unmarshal {_json_type(value)} into Go struct field {here} '
                    f'of type map[string]{_GO_TYPE.get(elem, elem)}']
        for k, v in value.items():
            errs += decode_errors(v, elem, f"{path}.{k}")
        return errs
    if typ == "str":
        if not isinstance(value, str):
            errs.append(f"json: cannot unmarshal {_json_type(value)} into Go struct field "
                        f"{here} of type string")
        return errs
    if typ == "int":
        # Go's decoder takes no fraction or exponent for an int64, not even 120.0 or 1.2E2
        # (what a JSON library writes for a double), so neither does this.
        if isinstance(value, bool) or not isinstance(value, int):
            errs.append(f"json: cannot unmarshal {_json_type(value)} {value!r} into Go struct "
                        f"field {here} of type int64")
        return errs
    if typ == "bool":
        if not isinstance(value, bool):
            errs.append(f"json: cannot unmarshal {_json_type(value)} into Go struct field "
                        f"{here} of type bool")
        return errs
    if typ == "quantity":
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            errs.append(f"quantities must match the regular expression "
                        f"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' ({here})")
        return errs
    fields = STRUCTS[typ]
    if not isinstance(value, dict):
        return [f"json: cannot unmarshal {_json_type(value)} into Go struct field {here} of "
                f"type {typ}"]
    for k, v in value.items():
        sub = f"{path}.{k}" if path else k
        if k not in fields:
            errs.append(f'unknown field "{sub}"')
            continue
        errs += decode_errors(v, fields[k], sub)
    return errs


def _quantity_ok(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) or (
        isinstance(v, str) and _QUANTITY.match(v) is not None)


def _labels_causes(labels, path):
    out = []
    for k, v in (labels or {}).items():
        if not _LABEL_NAME.match(k) or len(k.split("/")[-1]) > 63:
            out.append(("FieldValueInvalid", f"{path}: Invalid value: \"{k}\": name part must "
                        "consist of alphanumeric characters, '-', '_' or '.'", path))
        if not isinstance(v, str) or len(v) > 63 or not _LABEL_VALUE.match(v):
            out.append(("FieldValueInvalid", f"{path}: Invalid value: \"{v}\": a valid label "
                        "must be an empty string or consist of alphanumeric characters, '-', "
                        "'_' or '.', and must start and end with an alphanumeric character "
                        "(and at most 63 characters)", path))
    return out


def _container_causes(c, path, volume_names):
    out = []
    if not c.get("name"):
        out.append(("FieldValueRequired", f"{path}.name: Required value", f"{path}.name"))
    elif not _DNS_LABEL.match(c["name"]):
        out.append(("FieldValueInvalid", f"{path}.name: Invalid value: \"{c['name']}\": a "
                    "lowercase RFC 1123 label", f"{path}.name"))
    if not c.get("image"):
        out.append(("FieldValueRequired", f"{path}.image: Required value", f"{path}.image"))
    for i, e in enumerate(c.get("env") or []):
        p = f"{path}.env[{i}]"
        if not e.get("name") or not _ENV_NAME.match(e["name"]):
            out.append(("FieldValueInvalid", f"{p}.name: Invalid value: \"{e.get('name')}\": "
                        "a valid environment variable name", f"{p}.name"))
        if e.get("value") and e.get("valueFrom"):
            out.append(("FieldValueInvalid", f"{p}.valueFrom: Invalid value: \"\": may not be "
                        "specified when `value` is not empty", f"{p}.valueFrom"))
        ref = (e.get("valueFrom") or {}).get("secretKeyRef")
        if ref is not None:
            for f in ("name", "key"):
                if not ref.get(f):
                    out.append(("FieldValueRequired", f"{p}.valueFrom.secretKeyRef.{f}: "
                                "Required value", f"{p}.valueFrom.secretKeyRef.{f}"))
    res = c.get("resources") or {}
    for part in ("requests", "limits"):
        for k, v in (res.get(part) or {}).items():
            if not _quantity_ok(v):
                out.append(("FieldValueInvalid", f"{path}.resources.{part}[{k}]: Invalid "
                            f"value: \"{v}\": must be a quantity", f"{path}.resources.{part}"))
    for i, m in enumerate(c.get("volumeMounts") or []):
        p = f"{path}.volumeMounts[{i}]"
        if m.get("name") not in volume_names:
            out.append(("FieldValueNotFound", f"{p}.name: Not found: \"{m.get('name')}\"",
                        f"{p}.name"))
        if not m.get("mountPath"):
            out.append(("FieldValueRequired", f"{p}.mountPath: Required value",
                        f"{p}.mountPath"))
    return out


def invalid_causes(job, namespace):
    """The 422 causes of a decoded Job: [(reason, message, field)]."""
    out = []
    meta = job.get("metadata") or {}
    name = meta.get("name") or ""
    if not name and not meta.get("generateName"):
        out.append(("FieldValueRequired", "metadata.name: Required value: name or generateName "
                    "is required", "metadata.name"))
    elif name and (len(name) > 63 or not _DNS_LABEL.match(name)):
        out.append(("FieldValueInvalid", f"metadata.name: Invalid value: \"{name}\": a lowercase "
                    "RFC 1123 label of at most 63 characters (the job-name label of its pods)",
                    "metadata.name"))
    out += _labels_causes(meta.get("labels"), "metadata.labels")
    spec = job.get("spec")
    if not isinstance(spec, dict):
        return out + [("FieldValueRequired", "spec: Required value", "spec")]
    for f in ("backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished", "parallelism",
              "completions"):
        v = spec.get(f)
        if v is not None and (v < 0 or (f == "activeDeadlineSeconds" and v == 0)):
            out.append(("FieldValueInvalid", f"spec.{f}: Invalid value: {v}: must be greater "
                        "than or equal to 0", f"spec.{f}"))
    tpl = spec.get("template") or {}
    tmeta = tpl.get("metadata") or {}
    out += _labels_causes(tmeta.get("labels"), "spec.template.metadata.labels")
    pod = tpl.get("spec")
    if not isinstance(pod, dict):
        return out + [("FieldValueRequired", "spec.template.spec: Required value",
                       "spec.template.spec")]
    rp = pod.get("restartPolicy")
    if rp not in ("Never", "OnFailure"):
        out.append(("FieldValueNotSupported", f"spec.template.spec.restartPolicy: Unsupported "
                    f"value: \"{rp or 'Always'}\": supported values: \"OnFailure\", \"Never\"",
                    "spec.template.spec.restartPolicy"))
    volumes = pod.get("volumes") or []
    names = set()
    for i, v in enumerate(volumes):
        p = f"spec.template.spec.volumes[{i}]"
        if not v.get("name"):
            out.append(("FieldValueRequired", f"{p}.name: Required value", f"{p}.name"))
        names.add(v.get("name"))
        sources = [k for k in v if k != "name"]
        if len(sources) != 1:
            out.append(("FieldValueRequired" if not sources else "FieldValueForbidden",
                        f"{p}: must specify exactly 1 volume type", p))
        if "hostPath" in v and not (v["hostPath"] or {}).get("path"):
            out.append(("FieldValueRequired", f"{p}.hostPath.path: Required value",
                        f"{p}.hostPath.path"))
        if "persistentVolumeClaim" in v and not (v["persistentVolumeClaim"] or {}).get(
                "claimName"):
            out.append(("FieldValueRequired", f"{p}.persistentVolumeClaim.claimName: Required "
                        "value", f"{p}.persistentVolumeClaim.claimName"))
    containers = pod.get("containers") or []
    if not containers:
        out.append(("FieldValueRequired", "spec.template.spec.containers: Required value",
                    "spec.template.spec.containers"))
    for i, c in enumerate(containers):
        out += _container_causes(c, f"spec.template.spec.containers[{i}]", names)
    for i, t in enumerate(pod.get("tolerations") or []):
        p = f"spec.template.spec.tolerations[{i}]"
        op = t.get("operator") or "Equal"
        if op not in ("Equal", "Exists"):
            out.append(("FieldValueNotSupported", f"{p}.operator: Unsupported value: \"{op}\"",
                        f"{p}.operator"))
        if op == "Exists" and t.get("value"):
            out.append(("FieldValueInvalid", f"{p}.operator: Invalid value: \"{t['value']}\": "
                        "value must be empty when `operator` is 'Exists'", f"{p}.operator"))
        eff = t.get("effect") or ""
        if eff not in ("", "NoSchedule", "PreferNoSchedule", "NoExecute"):
            out.append(("FieldValueNotSupported", f"{p}.effect: Unsupported value: \"{eff}\"",
                        f"{p}.effect"))
        if t.get("tolerationSeconds") is not None and eff != "NoExecute":
            out.append(("FieldValueInvalid", f"{p}.effect: Invalid value: \"{eff}\": effect "
                        "must be 'NoExecute' when `tolerationSeconds` is set", f"{p}.effect"))
        if not t.get("key") and op != "Exists":
            out.append(("FieldValueInvalid", f"{p}.operator: Invalid value: \"{op}\": operator "
                        "must be Exists when `key` is empty", f"{p}.operator"))
    for k in (pod.get("nodeSelector") or {}):
        if not _LABEL_NAME.match(k):
            out.append(("FieldValueInvalid", f"spec.template.spec.nodeSelector: Invalid value: "
                        f"\"{k}\"", "spec.template.spec.nodeSelector"))
    ns = meta.get("namespace")
    if ns and ns != namespace:
        out.append(("FieldValueInvalid", "metadata.namespace: Invalid value: \"" + ns + "\": "
                    "does not match the namespace of the request", "metadata.namespace"))
    return out
