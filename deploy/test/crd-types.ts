/**
 * Types of the custom resources no npm model covers, written from their CRDs'
 * documented schemas, for the fields these manifests use and their documented
 * neighbours; the manifest check compiles every rendered object against its
 * type, so a field outside these is an error.
 *
 * - RayService `ray.io/v1`: KubeRay v1.7.0 `ray-operator/apis/ray/v1/rayservice_types.go`
 *   and `raycluster_types.go` (HeadGroupSpec, WorkerGroupSpec; the pod template is core v1).
 * - ObjectStore `barmancloud.cnpg.io/v1`: the Barman Cloud plugin's `api/v1/objectstore_types.go`
 *   (its `configuration` is barman-cloud's BarmanObjectStoreConfiguration, which the
 *   CloudNativePG model package does carry).
 */
import type { IIoK8sApimachineryPkgApisMetaV1ObjectMeta as ObjectMeta } from '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta';
import type { IBarmanObjectStoreConfiguration } from '@kubernetes-models/cloudnative-pg/github.com/cloudnative-pg/barman-cloud/pkg/api/BarmanObjectStoreConfiguration';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import type { IResourceRequirements } from 'kubernetes-models/v1/ResourceRequirements';
import type { IService } from 'kubernetes-models/v1/Service';

/** RayCluster `headGroupSpec`. */
export interface IHeadGroupSpec {
  template: IPodTemplateSpec;
  rayStartParams?: Record<string, string>;
  serviceType?: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  headService?: IService;
  enableIngress?: boolean;
}

/** RayCluster `workerGroupSpecs[]`. */
export interface IWorkerGroupSpec {
  groupName: string;
  template: IPodTemplateSpec;
  minReplicas: number;
  maxReplicas: number;
  replicas?: number;
  rayStartParams?: Record<string, string>;
  idleTimeoutSeconds?: number;
  numOfHosts?: number;
  suspend?: boolean;
  scaleStrategy?: { workersToDelete?: string[] };
}

/** RayCluster spec as RayService embeds it (`rayClusterConfig`). */
export interface IRayClusterSpec {
  rayVersion?: string;
  headGroupSpec: IHeadGroupSpec;
  workerGroupSpecs?: IWorkerGroupSpec[];
  enableInTreeAutoscaling?: boolean;
  autoscalerOptions?: {
    upscalingMode?: 'Default' | 'Aggressive' | 'Conservative';
    idleTimeoutSeconds?: number;
    resources?: IResourceRequirements;
    image?: string;
    version?: 'v1' | 'v2';
  };
  headServiceAnnotations?: Record<string, string>;
  suspend?: boolean;
}

/** `ray.io/v1` RayService. */
export interface IRayService {
  apiVersion: 'ray.io/v1';
  kind: 'RayService';
  metadata: ObjectMeta;
  spec: {
    /** The Serve config as a YAML string (the `serve deploy` file). */
    serveConfigV2?: string;
    rayClusterConfig: IRayClusterSpec;
    upgradeStrategy?: { type?: 'NewCluster' | 'NewClusterWithIncrementalUpgrade' | 'None' };
    serveService?: IService;
    excludeHeadPodFromServeSvc?: boolean;
    rayClusterDeletionDelaySeconds?: number;
  };
}

/** `barmancloud.cnpg.io/v1` ObjectStore. */
export interface IObjectStore {
  apiVersion: 'barmancloud.cnpg.io/v1';
  kind: 'ObjectStore';
  metadata: ObjectMeta;
  spec: {
    configuration: IBarmanObjectStoreConfiguration;
    /** e.g. `30d`: `^[1-9][0-9]*[dwm]$`. */
    retentionPolicy?: string;
    instanceSidecarConfiguration?: {
      env?: { name: string; value?: string }[];
      retentionPolicyIntervalSeconds?: number;
      resources?: IResourceRequirements;
    };
  };
}

/** Required fields and patterns of these CRDs, checked at run time (the types check the rest). */
export function crdProblems(doc: {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string };
  spec?: Record<string, unknown>;
}): string[] {
  const problems: string[] = [];
  if (doc.kind === 'RayService') {
    // KubeRay derives Service names from it: MaxRayServiceNameLength = 53 - 6.
    if ((doc.metadata?.name ?? '').length > 47) problems.push('a RayService name is at most 47 characters');
    const cluster = doc.spec?.['rayClusterConfig'] as IRayClusterSpec | undefined;
    for (const g of cluster?.workerGroupSpecs ?? [])
      if (g.minReplicas > g.maxReplicas) problems.push(`worker group ${g.groupName}: minReplicas > maxReplicas`);
  }
  if (doc.kind === 'ObjectStore') {
    const r = doc.spec?.['retentionPolicy'];
    if (r !== undefined && !/^[1-9][0-9]*[dwm]$/.test(String(r))) problems.push(`retentionPolicy '${String(r)}' is not like 30d, 4w or 6m`);
  }
  return problems;
}
