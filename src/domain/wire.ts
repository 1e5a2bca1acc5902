// The wire model: the original's protobuf messages as JSON (PascalCase keys). One TypeBox schema per
// message validates request bodies, serialises responses and feeds the OpenAPI document, so the docs
// cannot drift from the code. Every field is optional on the wire because the original's decoder
// treated "absent" and "zero" alike; the rules that need a field live in domain/ validators.
import { Type, type Static, type TSchema } from '@sinclair/typebox';

// Bounds keep every value inside what all three databases store (varchar(255), TEXT/MEDIUMTEXT) so an
// over-long value is a 400 naming the field, never a database error.
const Name = (description: string) => Type.String({ maxLength: 255, description });
const Text = (description: string) => Type.String({ maxLength: 16_000, description });
const Int32 = (description: string) =>
  Type.Integer({ minimum: -2147483648, maximum: 2147483647, description });
/** A field the server fills: readOnly, so OpenAPI clients (Swagger UI's Try it out) leave it out of requests. */
const Gen = (description: string) => Type.String({ maxLength: 255, description, readOnly: true });
const Id = Gen('Generated UUID; never sent by clients.');

const opt = <T extends TSchema>(s: T) => Type.Optional(s);

export const ImageSchema = Type.Object(
  {
    ID: opt(Id),
    Name: opt(Name('Unique image name.')),
    AnsibleUser: opt(Name('SSH user Ansible logs in as.')),
    CloudImageID: opt(Name('Image ID in the cloud (OpenStack Glance UUID).')),
  },
  { title: 'Image', additionalProperties: false },
);
export type Image = Static<typeof ImageSchema>;

export const FlavorSchema = Type.Object(
  {
    ID: opt(Id),
    Name: opt(Name('Unique flavor name; equals the cloud flavor name.')),
    VCPUs: opt(Int32('Virtual CPUs, > 0.')),
    RAM: opt(Int32('Memory in MB, > 0.')),
    Disk: opt(Int32('Disk in GB, > 0.')),
  },
  { title: 'Flavor', additionalProperties: false },
);
export type Flavor = Static<typeof FlavorSchema>;

export const ProjectSchema = Type.Object(
  {
    ID: opt(Id),
    Name: opt(Gen('Generated from DisplayName at creation; never changes.')),
    DisplayName: opt(Name('Letters, digits and "-", starting with a letter.')),
    GroupID: opt(Name('User group whose members are project members.')),
    Description: opt(Text('Free text.')),
    DefaultImage: opt(Name('Image (ID or name) used by clusters that name none.')),
    DefaultMasterFlavor: opt(Name('Flavor (ID or name) of master nodes.')),
    DefaultSlavesFlavor: opt(Name('Flavor (ID or name) of slave nodes.')),
    DefaultStorageFlavor: opt(Name('Flavor (ID or name) of the storage node.')),
    DefaultMonitoringFlavor: opt(Name('Flavor (ID or name) of the monitoring node.')),
  },
  { title: 'Project', additionalProperties: false },
);
export type Project = Static<typeof ProjectSchema>;

export const ServicePortSchema = Type.Object(
  { Port: opt(Int32('TCP port, > 0.')), Description: opt(Text('What listens there.')) },
  { title: 'ServicePort', additionalProperties: false },
);
export type ServicePort = Static<typeof ServicePortSchema>;

const ConfigFields = {
  ParameterName: opt(Name('Parameter name, unique within the version.')),
  Type: opt(Name('int, float, bool or string.')),
  DefaultValue: opt(Text('Default, as a string.')),
  Required: opt(Type.Boolean({ description: 'Pass DefaultValue to Ansible when the user sets nothing.' })),
  Description: opt(Text('Free text.')),
  AnsibleVarName: opt(Name('Ansible variable name; generated for version configs.')),
  IsList: opt(Type.Boolean({ description: 'Values are JSON arrays of Type.' })),
};

export const HealthConfigSchema = Type.Object(ConfigFields, { title: 'HealthConfig', additionalProperties: false });
export type HealthConfig = Static<typeof HealthConfigSchema>;

export const HealthCheckSchema = Type.Object(
  {
    ID: opt(Id),
    CheckType: opt(Name('Script, HTTP, TCP, TTL, Docker, gRPC or NotSupported.')),
    Configs: opt(Type.Array(HealthConfigSchema, { maxItems: 1000 })),
  },
  { title: 'HealthCheck', additionalProperties: false },
);
export type HealthCheck = Static<typeof HealthCheckSchema>;

export const ServiceConfigSchema = Type.Object(
  {
    ID: opt(Id),
    ...ConfigFields,
    PossibleValues: opt(Type.Array(Text('Allowed value.'), { maxItems: 10_000 })),
  },
  { title: 'ServiceConfig', additionalProperties: false },
);
export type ServiceConfig = Static<typeof ServiceConfigSchema>;

export const ServiceDependencySchema = Type.Object(
  {
    ServiceType: opt(Name('The service type depended upon.')),
    ServiceVersions: opt(Type.Array(Name('Compatible version.'), { maxItems: 10_000 })),
    DefaultServiceVersion: opt(Name('Version added when the cluster lacks the dependency.')),
    Description: opt(Text('Free text.')),
  },
  { title: 'ServiceDependency', additionalProperties: false },
);
export type ServiceDependency = Static<typeof ServiceDependencySchema>;

export const ServiceVersionSchema = Type.Object(
  {
    ID: opt(Id),
    Version: opt(Name('Version name, unique within the type.')),
    Description: opt(Text('Free text.')),
    DownloadURL: opt(Text('Where the version is downloaded from.')),
    Configs: opt(Type.Array(ServiceConfigSchema, { maxItems: 10_000 })),
    Dependencies: opt(Type.Array(ServiceDependencySchema, { maxItems: 1000 })),
    Deployable: opt(Type.Boolean({ readOnly: true, description: 'Generated (GET /configs, full view): whether the active provider can deploy this version here.' })),
    DeployableReason: opt(Type.String({ maxLength: 16_000, readOnly: true, description: 'Generated: why not, when Deployable is false (e.g. the host runs another version of the program).' })),
  },
  { title: 'ServiceVersion', additionalProperties: false },
);
export type ServiceVersion = Static<typeof ServiceVersionSchema>;

export const ServiceTypeSchema = Type.Object(
  {
    ID: opt(Id),
    Type: opt(Name('Unique service type name, e.g. spark.')),
    Description: opt(Text('Free text.')),
    Versions: opt(Type.Array(ServiceVersionSchema, { maxItems: 1000 })),
    DefaultVersion: opt(Name('One of Versions[].Version.')),
    Class: opt(Name('master-slave, stand-alone or storage.')),
    AccessPort: opt(Int32('Port of the main endpoint; service URL = node address + AccessPort.')),
    Ports: opt(Type.Array(ServicePortSchema, { maxItems: 1000 })),
    HealthCheck: opt(Type.Array(HealthCheckSchema, { maxItems: 100 })),
  },
  { title: 'ServiceType', additionalProperties: false },
);
export type ServiceType = Static<typeof ServiceTypeSchema>;

export const ServiceSchema = Type.Object(
  {
    ID: opt(Id),
    Name: opt(Name('Free text.')),
    Type: opt(Name('Service type.')),
    Version: opt(Name('Defaults to the type default version.')),
    Config: opt(Type.Record(Type.String({ maxLength: 255 }), Text('Value as a string.'))),
    DisplayName: opt(Name('Free text.')),
    Description: opt(Text('Free text.')),
    EntityStatus: opt(Gen('Generated.')),
    URL: opt(Type.String({ maxLength: 16_000, description: 'Generated: node address + AccessPort.', readOnly: true })),
    ClusterRef: opt(Gen('Generated.')),
  },
  { title: 'Service', additionalProperties: false },
);
export type Service = Static<typeof ServiceSchema>;

export const TemplateSchema = Type.Object(
  {
    ID: opt(Id),
    ProjectID: opt(Gen('Generated: the project ID, or "None" for common templates.')),
    Name: opt(Gen('Generated: DisplayName-<project name | common>.')),
    DisplayName: opt(Name('Letters, digits and "-", starting with a letter.')),
    Services: opt(Type.Array(ServiceSchema, { maxItems: 100 })),
    NSlaves: opt(Int32('Number of slave nodes, >= 0.')),
    Description: opt(Text('Free text.')),
  },
  { title: 'Template', additionalProperties: false },
);
export type Template = Static<typeof TemplateSchema>;

export const ClusterSchema = Type.Object(
  {
    ID: opt(Id),
    Name: opt(Gen('Generated: DisplayName-ProjectName.')),
    DisplayName: opt(Name('Letters, digits and "-", starting with a letter.')),
    HostURL: opt(Type.String({ maxLength: 16_000, description: 'Generated: the protocol endpoints of its services, space-separated (spark: spark://<master>:7077 hdfs://<master>:9000); empty when none.', readOnly: true })),
    EntityStatus: opt(Gen('Generated: INITED, CREATING, ACTIVE, FAILED, ...')),
    ClusterType: opt(Gen('Generated.')),
    Services: opt(Type.Array(ServiceSchema, { maxItems: 100 })),
    NSlaves: opt(Int32('Number of slave nodes.')),
    MasterIP: opt(Gen('Generated.')),
    ProjectID: opt(Gen('Generated.')),
    OwnerID: opt(Gen('Generated: the caller.')),
    Description: opt(Text('Free text.')),
    Image: opt(Name('Defaults to the project default image.')),
    Keys: opt(Type.Array(Text('SSH public key.'), { maxItems: 1000 })),
    Monitoring: opt(Type.Boolean()),
    MasterFlavor: opt(Name('Defaults to the project default.')),
    SlavesFlavor: opt(Name('Defaults to the project default.')),
    StorageFlavor: opt(Name('Defaults to the project default.')),
    MonitoringFlavor: opt(Name('Defaults to the project default.')),
    ExpiresAt: opt(Type.String({ maxLength: 64, description: 'RFC 3339 time after which the engine deletes the cluster (a warning event comes before). Set at create or changed by PUT; or give TTL.' })),
    TTL: opt(Type.Integer({ minimum: 1, maximum: 10 * 365 * 86_400, description: 'Request only: seconds from now until ExpiresAt (instead of ExpiresAt).' })),
    Template: opt(Name('Create only: a stored template (ID or name, of the project or common) whose Services and NSlaves the cluster takes unless the body gives them.')),
  },
  { title: 'Cluster', additionalProperties: false },
);
export type Cluster = Static<typeof ClusterSchema>;

export type ServiceClass = 'master-slave' | 'stand-alone' | 'storage';
export const serviceClasses: readonly string[] = ['master-slave', 'stand-alone', 'storage'];
