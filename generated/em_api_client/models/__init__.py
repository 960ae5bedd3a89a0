"""Contains all the data models used in inputs/outputs"""

from .auth_error import AuthError
from .constraint import Constraint
from .em_container_state import EmContainerState
from .em_delete_request import EmDeleteRequest
from .em_error import EmError
from .em_file_node import EmFileNode
from .em_file_node_type import EmFileNodeType
from .em_files_list_request import EmFilesListRequest
from .em_files_list_response import EmFilesListResponse
from .em_image_build_request import EmImageBuildRequest
from .em_image_list_response import EmImageListResponse
from .em_image_load_request import EmImageLoadRequest
from .em_message import EmMessage
from .em_node_status import EmNodeStatus
from .em_node_type import EmNodeType
from .em_nodes_status_response import EmNodesStatusResponse
from .em_pod_status import EmPodStatus
from .em_pod_status_response import EmPodStatusResponse
from .em_pvc_delete_request import EmPvcDeleteRequest
from .em_pvc_list_response import EmPvcListResponse
from .em_run_request import EmRunRequest
from .em_run_request_envs_type_0 import EmRunRequestEnvsType0
from .em_state_running import EmStateRunning
from .em_state_terminated import EmStateTerminated
from .em_state_waiting import EmStateWaiting
from .em_uplink_request import EmUplinkRequest
from .em_uplink_response import EmUplinkResponse
from .em_uplink_result import EmUplinkResult
from .em_volume import EmVolume
from .field_errors import FieldErrors
from .mission import Mission
from .operation import Operation
from .operation_create import OperationCreate
from .operation_create_node import OperationCreateNode
from .operation_node import OperationNode
from .operation_status import OperationStatus
from .payload import Payload
from .provider import Provider
from .token_access import TokenAccess
from .token_obtain_pair import TokenObtainPair
from .token_pair import TokenPair
from .token_refresh import TokenRefresh
from .user import User

__all__ = (
    "AuthError",
    "Constraint",
    "EmContainerState",
    "EmDeleteRequest",
    "EmError",
    "EmFileNode",
    "EmFileNodeType",
    "EmFilesListRequest",
    "EmFilesListResponse",
    "EmImageBuildRequest",
    "EmImageListResponse",
    "EmImageLoadRequest",
    "EmMessage",
    "EmNodesStatusResponse",
    "EmNodeStatus",
    "EmNodeType",
    "EmPodStatus",
    "EmPodStatusResponse",
    "EmPvcDeleteRequest",
    "EmPvcListResponse",
    "EmRunRequest",
    "EmRunRequestEnvsType0",
    "EmStateRunning",
    "EmStateTerminated",
    "EmStateWaiting",
    "EmUplinkRequest",
    "EmUplinkResponse",
    "EmUplinkResult",
    "EmVolume",
    "FieldErrors",
    "Mission",
    "Operation",
    "OperationCreate",
    "OperationCreateNode",
    "OperationNode",
    "OperationStatus",
    "Payload",
    "Provider",
    "TokenAccess",
    "TokenObtainPair",
    "TokenPair",
    "TokenRefresh",
    "User",
)
